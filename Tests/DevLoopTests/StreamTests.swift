import DevLoop
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Exec and port-forward over our WebSocket client, against a fake API server whose exec endpoint runs
/// real local processes with the kubelet's v4/v5 semantics and whose port-forward endpoint relays to a
/// real local TCP server.
@Suite(.serialized) struct StreamTests {
    /// What the fake API server offers: both protocols (1.30+) or only v4 (1.25 to 1.29).
    static func execServer(pki: TestCertificates, supported: [String], target: UInt16 = 0) async throws
        -> TestHTTPSServer
    {
        try await TestHTTPSServer(
            certificates: pki,
            webSocket: { request in
                let offered = (request.headers["sec-websocket-protocol"] ?? "").split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                if request.path == "/api/v1/namespaces/dev/pods/web/exec" {
                    guard let chosen = offered.first(where: supported.contains) else { return nil }
                    return TestWebSocketRoute(subprotocol: chosen, behavior: FakeExecSession(version: chosen))
                }
                if request.path.hasSuffix("/portforward"), request.path.contains("/pods/web/") {
                    return TestWebSocketRoute(
                        subprotocol: "v4.channel.k8s.io", behavior: FakePortForwardSession(target: target))
                }
                return nil
            },
            handler: { request in
                if request.path.contains("/pods/locked/") {
                    return .status(
                        403, reason: "Forbidden",
                        message:
                            "pods \\\"locked\\\" is forbidden: User \\\"dev\\\" cannot create resource \\\"pods/exec\\\""
                    )
                }
                return .status(404, reason: "NotFound", message: "pods \\\"\(request.path)\\\" not found")
            })
    }

    func client(_ server: TestHTTPSServer, _ pki: TestCertificates, _ folder: TemporaryDirectory) throws -> KubeClient {
        try KubeConfigFixture(
            server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"], user: ["token: stream-token"],
            in: folder
        ).client()
    }

    func withExecServer(
        supported: [String], target: UInt16 = 0, _ body: (KubeClient) async throws -> Void
    ) async throws {
        let pki = try await TestCertificates.make()
        let folder = try TemporaryDirectory()
        let server = try await Self.execServer(pki: pki, supported: supported, target: target)
        defer {
            pki.remove()
            folder.remove()
        }
        do {
            try await body(try client(server, pki, folder))
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    static let tenMegabytes = TestData.pattern(megabytes: 10)

    @Test(arguments: [
        (["v5.channel.k8s.io", "v4.channel.k8s.io"], [StreamProtocol.v5]),
        (["v5.channel.k8s.io", "v4.channel.k8s.io"], [StreamProtocol.v4]),
        (["v4.channel.k8s.io"], [StreamProtocol.v5, .v4]),
        (["v5.channel.k8s.io", "v4.channel.k8s.io"], [StreamProtocol.v5, .v4]),
    ])
    func execRoundTripsTenMegabytesOfStdin(supported: [String], offered: [StreamProtocol]) async throws {
        try await withExecServer(supported: supported) { client in
            let exec = PodExec(client: client)
            for _ in 0..<2 {
                let result = try await exec.run(
                    ExecRequest(
                        namespace: "dev", pod: "web", command: ["cat"], stdin: Self.tenMegabytes, protocols: offered))
                #expect(result.exitCode == 0)
                #expect(result.stdout.count == Self.tenMegabytes.count)
                #expect(result.stdout == Self.tenMegabytes)
            }
            #expect(MaskCheck.unmaskedFrames == 0)
        }
    }

    @Test(arguments: [["v5.channel.k8s.io", "v4.channel.k8s.io"], ["v4.channel.k8s.io"]])
    func execReportsExitCodeAndStderr(supported: [String]) async throws {
        try await withExecServer(supported: supported) { client in
            let result = try await PodExecutor(client: client, namespace: "dev", pod: "web")
                .run(["sh", "-c", "head -c 5; echo oops >&2; exit 3"], stdin: Data("hello world".utf8))
            #expect(result.exitCode == 3)
            #expect(String(decoding: result.stdout, as: UTF8.self) == "hello")
            #expect(String(decoding: result.stderr, as: UTF8.self) == "oops\n")
            let silent = try await PodExecutor(client: client, namespace: "dev", pod: "web").run(
                ["true"], stdin: Data())
            #expect(silent.exitCode == 0)
        }
    }

    @Test func refusedUpgradeSaysWhy() async throws {
        try await withExecServer(supported: ["v4.channel.k8s.io"]) { client in
            do {
                _ = try await PodExec(client: client).run(ExecRequest(namespace: "dev", pod: "locked", command: ["ls"]))
                Issue.record("exec into a forbidden pod succeeded")
            } catch let error as KubeClientError {
                #expect(error.statusCode == 403)
                // A WebSocket upgrade is a GET: up to 1.34 RBAC checks `get`, from 1.35 `create` as well.
                #expect("\(error)".contains("forbidden: you may not get pods/exec \"locked\" in namespace \"dev\""))
                #expect("\(error)".contains("permission to get and create pods/exec"), "\(error)")
            }
            do {
                _ = try await PodExec(client: client).run(ExecRequest(namespace: "dev", pod: "gone", command: ["ls"]))
                Issue.record("exec into a missing pod succeeded")
            } catch let error as KubeClientError {
                #expect(error.statusCode == 404)
                #expect("\(error)".hasPrefix("not found: pods/exec \"gone\""))
            }
        }
    }
}

extension StreamTests {
    @Test func aCommandThatCannotStartIsAnExecError() async throws {
        try await withExecServer(supported: ["v5.channel.k8s.io"]) { client in
            do {
                _ = try await PodExec(client: client).run(
                    ExecRequest(namespace: "dev", pod: "web", command: ["/no/such/program"]))
                Issue.record("a missing program ran")
            } catch let error as KubeClientError {
                #expect("\(error)".hasPrefix("exec failed: cannot run"))
            }
        }
    }
}
