import DevLoop
import Foundation
import LockedValue
import Testing

/// TLS trust and authentication against local HTTPS servers with certificates made by `openssl`.
@Suite(.serialized) struct ClientTLSTests {
    let pki: TestCertificates
    let folder: TemporaryDirectory

    init() async throws {
        pki = try await TestCertificates.make()
        folder = try TemporaryDirectory()
    }

    private func withServer(
        requireClientCertificate: Bool = false, handler: @escaping @Sendable (TestRequest) -> TestResponse,
        _ body: (TestHTTPSServer) async throws -> Void
    ) async throws {
        let server = try await TestHTTPSServer(
            certificates: pki, requireClientCertificate: requireClientCertificate, handler: handler)
        do {
            try await body(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        pki.remove()
        folder.remove()
    }

    @Test func caFromFileAndBearerToken() async throws {
        try await withServer(handler: FakeAPI.handler(token: { "s3cret-token" })) { server in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"],
                user: ["token: s3cret-token"],
                in: folder)
            let config = try fixture.config()
            #expect(config.trustSummary == "CA from file \(pki.caCert.path)")
            #expect(try await KubeClient(config: config).serverVersion() == "v1.30.0-fake")
        }
    }

    @Test func caFromData() async throws {
        try await withServer(handler: FakeAPI.handler()) { server in
            let data = pki.pem(pki.caCert).base64EncodedString()
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority-data: \(data)"], in: folder)
            #expect(try await fixture.client().serverVersion() == "v1.30.0-fake")
        }
    }

    @Test func clientCertificateFromFile() async throws {
        try await withServer(requireClientCertificate: true, handler: FakeAPI.handler()) { server in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"],
                user: ["client-certificate: \(pki.clientCert.path)", "client-key: \(pki.clientKey.path)"], in: folder)
            #expect(try await fixture.client().serverVersion() == "v1.30.0-fake")
            #expect(try fixture.config().authSummary == "client certificate")
        }
    }

    @Test func clientCertificateFromData() async throws {
        try await withServer(requireClientCertificate: true, handler: FakeAPI.handler()) { server in
            let fixture = try KubeConfigFixture(
                server: server.url,
                cluster: ["certificate-authority-data: \(pki.pem(pki.caCert).base64EncodedString())"],
                user: [
                    "client-certificate-data: \(pki.pem(pki.clientCert).base64EncodedString())",
                    "client-key-data: \(pki.pem(pki.clientKey).base64EncodedString())",
                ], in: folder)
            #expect(try await fixture.client().serverVersion() == "v1.30.0-fake")
        }
    }

    @Test func missingClientCertificateIsRejectedByTheServer() async throws {
        try await withServer(requireClientCertificate: true, handler: FakeAPI.handler()) { server in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"], in: folder)
            await #expect(throws: CurlError.self) { try await fixture.client().serverVersion() }
        }
    }

    @Test func tokenFileIsReadAgainForEveryRequest() async throws {
        let tokenFile = try folder.file("token", "first-token\n")
        let seen = Locked<[String]>([])
        try await withServer(handler: FakeAPI.handler(seen: seen)) { server in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"],
                user: ["tokenFile: \(tokenFile.path)"], in: folder)
            let client = try fixture.client()
            _ = try await client.serverVersion()
            try "rotated-token\n".write(to: tokenFile, atomically: true, encoding: .utf8)
            _ = try await client.serverVersion()
            #expect(seen.current == ["Bearer first-token", "Bearer rotated-token"])
        }
    }

    @Test func execPluginIsCachedUntilExpiryAndRerunAfter401() async throws {
        let counter = folder.url.appendingPathComponent("runs").path
        let info = folder.url.appendingPathComponent("exec-info").path
        let plugin = try folder.file(
            "plugin.sh",
            """
            #!/bin/sh
            n=$(( $(cat \(counter) 2>/dev/null || echo 0) + 1 ))
            echo $n > \(counter)
            printf '%s' "$KUBERNETES_EXEC_INFO" > \(info)
            expiry=$(date -u -d "+$PLUGIN_TTL seconds" +%Y-%m-%dT%H:%M:%SZ)
            printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token-%s","expirationTimestamp":"%s"}}' $n $expiry
            """)
        chmod(plugin.path, 0o755)
        let accepted = Locked("exec-token-2")
        try await withServer(handler: FakeAPI.handler(token: { accepted.current })) { server in
            func fixture(ttl: Int) throws -> KubeConfigFixture {
                try KubeConfigFixture(
                    server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"],
                    user: [
                        "exec:", "  apiVersion: client.authentication.k8s.io/v1", "  command: ./plugin.sh",
                        "  interactiveMode: Never", "  env:", "  - name: PLUGIN_TTL", "    value: \"\(ttl)\"",
                    ], in: folder, name: "config-\(ttl)")
            }
            let runs = {
                Int(
                    (try? String(contentsOfFile: counter, encoding: .utf8))?.trimmingCharacters(
                        in: .whitespacesAndNewlines) ?? "") ?? 0
            }
            // The first token is refused: the plugin runs again and the request is retried once.
            let client = try fixture(ttl: 3600).client()
            #expect(try await client.serverVersion() == "v1.30.0-fake")
            #expect(runs() == 2)
            // Cached until it expires.
            _ = try await client.serverVersion()
            #expect(runs() == 2)
            let execInfo = try String(contentsOfFile: info, encoding: .utf8)
            #expect(
                execInfo.contains("\"kind\":\"ExecCredential\"") && execInfo.contains("client.authentication.k8s.io/v1")
            )
            // An expired credential is not used: every request runs the plugin.
            accepted.withLock { $0 = "exec-token-3" }
            let expiring = try fixture(ttl: -10).client()
            _ = try await expiring.serverVersion()
            #expect(runs() == 3)
            accepted.withLock { $0 = "exec-token-4" }
            _ = try await expiring.serverVersion()
            #expect(runs() == 4)
        }
    }

    /// Concurrent requests (a browser's six connections through the port-forward, the doctor's checks)
    /// share one plugin run, as client-go's mutex does: one `aws eks get-token`, one browser login.
    @Test func concurrentRequestsShareOneExecPluginRun() async throws {
        let log = folder.url.appendingPathComponent("runs").path
        let plugin = try folder.file(
            "slow-plugin.sh",
            """
            #!/bin/sh
            echo run >> \(log)
            sleep 1
            printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"shared"}}'
            """)
        chmod(plugin.path, 0o755)
        try await withServer(handler: FakeAPI.handler(token: { "shared" })) { server in
            let client = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"],
                user: ["exec:", "  apiVersion: client.authentication.k8s.io/v1", "  command: ./slow-plugin.sh"],
                in: folder
            ).client()
            let versions = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<6 { group.addTask { try await client.serverVersion() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(versions == Array(repeating: "v1.30.0-fake", count: 6))
            let runs = (try String(contentsOfFile: log, encoding: .utf8)).split(separator: "\n").count
            #expect(runs == 1, "the plugin ran \(runs) times for 6 concurrent requests")
        }
    }

    @Test func wrongCAFailsSayingTheCertificateWasNotTrusted() async throws {
        try await withServer(handler: FakeAPI.handler()) { server in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.otherCACert.path)"], in: folder)
            do {
                _ = try await fixture.client().serverVersion()
                Issue.record("a server signed by another CA was trusted")
            } catch let error as CurlError {
                #expect(error.isUntrustedCertificate)
                #expect("\(error)".contains("certificate was not trusted"))
            }
        }
    }

    @Test func insecureSkipTLSVerifyWorksAndWarns() async throws {
        try await withServer(handler: FakeAPI.handler()) { server in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["insecure-skip-tls-verify: true"], in: folder)
            let config = try fixture.config()
            #expect(config.securityWarning?.contains("TLS verification is off") == true)
            #expect(try await KubeClient(config: config).serverVersion() == "v1.30.0-fake")
            let report = await Doctor(loader: KubeConfigLoader(environment: [:], explicitPath: fixture.path.path)).run()
            #expect(report.warnings.contains { $0.contains("TLS verification is off") })
            // Without the flag the same server is not trusted: verification is on by default.
            let strict = try KubeConfigFixture(server: server.url, in: folder, name: "strict")
            await #expect(throws: CurlError.self) { try await strict.client().serverVersion() }
        }
    }

    @Test func tlsServerNameIsTheNameVerified() async throws {
        try await withServer(handler: FakeAPI.handler()) { server in
            let good = try KubeConfigFixture(
                server: server.url,
                cluster: ["certificate-authority: \(pki.caCert.path)", "tls-server-name: kube.test"],
                in: folder, name: "good")
            #expect(try await good.client().serverVersion() == "v1.30.0-fake")
            let wrong = try KubeConfigFixture(
                server: server.url,
                cluster: ["certificate-authority: \(pki.caCert.path)", "tls-server-name: wrong.test"],
                in: folder, name: "wrong")
            await #expect(throws: CurlError.self) { try await wrong.client().serverVersion() }
        }
    }
}

extension ClientTLSTests {
    @Test func requestsReuseOneKeptAliveConnection() async throws {
        try await withServer(handler: FakeAPI.handler()) { server in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"], in: folder)
            let client = try fixture.client()
            for _ in 0..<5 { _ = try await client.serverVersion() }
            #expect(server.connections.current == 1)
        }
    }
}
