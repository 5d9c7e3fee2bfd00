import Foundation
import ProcessTestSupport
import Testing

@testable import DevLoop

/// A kubeconfig CA replaces the system trust store instead of adding to it (client-go's RootCAs): a
/// server whose certificate a system-trusted CA signed must be refused when the kubeconfig names another CA.
@Suite struct TrustStoreTests {
    @Test func kubeconfigCAReplacesTheSystemTrustStore() async throws {
        let pki = try await TestCertificates.make()
        defer { pki.remove() }
        let signedByOther = try await Self.serverSignedByOtherCA(pki)
        defer { signedByOther.remove() }
        let systemFolder = try await Self.hashedFolder(trusting: pki.otherCACert)
        defer { try? FileManager.default.removeItem(at: systemFolder) }
        let server = try await TestHTTPSServer(certificates: signedByOther, handler: FakeAPI.handler())
        do {
            // The folder stands in for /etc/ssl/certs: with no CA in the kubeconfig, it is what is trusted.
            var tls = TLSSettings()
            tls.systemCAPath = systemFolder.path
            let viaSystem = KubeClient(config: KubeClientConfig(server: URL(string: server.url)!, tls: tls))
            #expect(try await viaSystem.serverVersion() == "v1.30.0-fake")

            tls.caPEM = pki.pem(pki.caCert)
            let viaKubeconfigCA = KubeClient(config: KubeClientConfig(server: URL(string: server.url)!, tls: tls))
            let error = await #expect(throws: CurlError.self) { try await viaKubeconfigCA.serverVersion() }
            #expect(error?.isUntrustedCertificate == true, "\(String(describing: error))")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// A copy of the PKI whose server certificate "other-ca" signed.
    static func serverSignedByOtherCA(_ pki: TestCertificates) async throws -> TestCertificates {
        let copy = TestCertificates(
            directory: FileManager.default.temporaryDirectory.appendingPathComponent("devloop-pki-\(UUID())"))
        try FileManager.default.copyItem(at: pki.directory, to: copy.directory)
        try await shell(
            """
            openssl req -new -key server.key -subj /CN=public-api -out other.csr 2>/dev/null
            openssl x509 -req -in other.csr -CA other-ca.crt -CAkey other-ca.key -CAcreateserial -days 2 \
              -extfile server.ext -out server.crt 2>/dev/null
            """, in: copy.directory)
        return copy
    }

    /// A CApath folder (OpenSSL's hash-named links) holding one CA.
    static func hashedFolder(trusting ca: URL) async throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("devloop-capath-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try await shell(
            "cp '\(ca.path)' ca.pem && ln -s ca.pem \"$(openssl x509 -hash -noout -in ca.pem).0\"", in: folder)
        return folder
    }

    static func shell(_ script: String, in folder: URL) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-ec", script]
        process.currentDirectoryURL = folder
        guard try await process.runToEnd().status == 0 else {
            Issue.record("openssl failed in \(folder.path)")
            throw CocoaError(.fileWriteUnknown)
        }
    }
}
