import Foundation

/// The cluster's PKI, generated once into `DIR/pki` with the `openssl` command: a CA, the serving
/// certificate (SAN 127.0.0.1 and localhost) and the admin client certificate (O=system:masters).
public struct Certificates: Sendable {
    public let directory: URL

    public var caCertificate: URL { directory.appendingPathComponent("ca.crt") }
    public var caKey: URL { directory.appendingPathComponent("ca.key") }
    public var serverCertificate: URL { directory.appendingPathComponent("server.crt") }
    public var serverKey: URL { directory.appendingPathComponent("server.key") }
    public var clientCertificate: URL { directory.appendingPathComponent("admin.crt") }
    public var clientKey: URL { directory.appendingPathComponent("admin.key") }

    public static let adminUser = "kubesim-admin"

    public init(directory: URL) { self.directory = directory }

    /// Creates whatever is missing; existing files are kept so clients keep trusting the cluster.
    public func ensure() async throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fresh = !FileManager.default.fileExists(atPath: caCertificate.path)
        if fresh {
            try await openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", caKey.path, "-out", caCertificate.path, "-days", "3650", "-subj", "/CN=kubesim-ca",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        }
        if fresh || !FileManager.default.fileExists(atPath: serverCertificate.path) {
            try await issue(
                certificate: serverCertificate, key: serverKey, subject: "/CN=kube-apiserver",
                extensions: [
                    "subjectAltName=IP:127.0.0.1,DNS:localhost", "extendedKeyUsage=serverAuth",
                    "keyUsage=critical,digitalSignature,keyEncipherment",
                ])
        }
        if fresh || !FileManager.default.fileExists(atPath: clientCertificate.path) {
            try await issue(
                certificate: clientCertificate, key: clientKey, subject: "/O=system:masters/CN=\(Self.adminUser)",
                extensions: ["extendedKeyUsage=clientAuth", "keyUsage=critical,digitalSignature,keyEncipherment"])
        }
        for key in [caKey, serverKey, clientKey] {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key.path)
        }
    }

    private func issue(certificate: URL, key: URL, subject: String, extensions: [String]) async throws {
        var arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            key.path, "-out", certificate.path, "-days", "3650", "-subj", subject, "-CA", caCertificate.path,
            "-CAkey", caKey.path, "-addext", "basicConstraints=critical,CA:FALSE",
        ]
        for item in extensions { arguments += ["-addext", item] }
        try await openssl(arguments)
    }

    /// Runs openssl with its messages in a file, waiting without blocking a thread: a pipe could be held
    /// open by a child another thread spawns meanwhile (a pod), and reading it would never end.
    private func openssl(_ arguments: [String]) async throws {
        let log = directory.appendingPathComponent("openssl.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw KubeSimError.certificates(
                "openssl \(arguments.first ?? "") failed (\(process.terminationStatus)): \(message)")
        }
        try? FileManager.default.removeItem(at: log)
    }
}

public enum KubeSimError: Error, CustomStringConvertible {
    case certificates(String)
    case configuration(String)

    public var description: String {
        switch self {
        case .certificates(let message): return "kubesim certificates: \(message)"
        case .configuration(let message): return "kubesim: \(message)"
        }
    }
}
