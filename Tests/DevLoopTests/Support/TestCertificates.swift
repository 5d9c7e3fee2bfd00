import Foundation
import ProcessTestSupport
import Testing

/// A throwaway PKI made with the `openssl` CLI: a CA, a server certificate for 127.0.0.1 / localhost /
/// kube.test, a client certificate, and a second CA that signed nothing the server uses.
struct TestCertificates: Sendable {
    let directory: URL

    var caCert: URL { directory.appendingPathComponent("ca.crt") }
    var serverCert: URL { directory.appendingPathComponent("server.crt") }
    var serverKey: URL { directory.appendingPathComponent("server.key") }
    var clientCert: URL { directory.appendingPathComponent("client.crt") }
    var clientKey: URL { directory.appendingPathComponent("client.key") }
    var otherCACert: URL { directory.appendingPathComponent("other-ca.crt") }

    static func make() async throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "devloop-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = """
            set -e
            key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }
            key ca.key; key other-ca.key; key server.key; key client.key
            openssl req -x509 -new -key ca.key -subj /CN=devloop-test-ca -days 2 -out ca.crt 2>/dev/null
            openssl req -x509 -new -key other-ca.key -subj /CN=devloop-other-ca -days 2 -out other-ca.crt 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kube.test\\nextendedKeyUsage=serverAuth\\n' > server.ext
            printf 'extendedKeyUsage=clientAuth\\n' > client.ext
            openssl req -new -key server.key -subj /CN=kube-apiserver -out server.csr 2>/dev/null
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt 2>/dev/null
            openssl req -new -key client.key -subj /CN=devloop-user/O=devs -out client.csr 2>/dev/null
            openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile client.ext -out client.crt 2>/dev/null
            openssl pkcs8 -topk8 -nocrypt -in server.key -out server.pk8 && mv server.pk8 server.key
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        guard try await process.runToEnd().status == 0 else {
            Issue.record("openssl failed to make test certificates (is the openssl CLI installed? ./dev/setup.sh)")
            throw CocoaError(.fileNoSuchFile)
        }
        return TestCertificates(directory: directory)
    }

    func pem(_ url: URL) -> Data {
        (try? Data(contentsOf: url)) ?? Data()
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A temporary folder for one test.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("devloop-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ content: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try content.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

enum TestData {
    /// Incompressible-looking bytes: one random megabyte, each copy shifted so no two megabytes are equal.
    static func pattern(megabytes: Int) -> Data {
        var block = Data((0..<(1 << 20)).map { _ in UInt8.random(in: 0...255) })
        var data = Data(capacity: megabytes << 20)
        for index in 0..<megabytes {
            block[index % block.count] &+= 1
            data.append(block)
        }
        return data
    }
}
