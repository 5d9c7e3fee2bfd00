import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What an exec plugin returned, and until when it holds.
struct ExecCredential: Sendable {
    var credentials: RequestCredentials
    var expiry: Date?

    func isExpired(at now: Date) -> Bool {
        expiry.map { $0 <= now } ?? false
    }
}

/// Runs a kubeconfig exec credential plugin (client.authentication.k8s.io): KUBERNETES_EXEC_INFO in,
/// an ExecCredential JSON out on stdout. Its stderr goes to ours (plugins print prompts and hints there);
/// its stdout holds the secret and is never echoed, not even in errors.
struct ExecCredentialPlugin: Sendable {
    let config: ExecPluginConfig
    let server: URL
    let tls: TLSSettings

    func run() async throws -> ExecCredential {
        // As client-go: the plugin gets our terminal (for a login prompt) unless it says it never needs one.
        let interactive = config.interactiveMode != "Never" && isatty(STDIN_FILENO) == 1
        if config.interactiveMode == "Always", !interactive {
            throw failure("needs an interactive terminal (interactiveMode: Always), and standard input is not one")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [config.command] + config.args
        var environment = ProcessInfo.processInfo.environment
        environment.merge(config.env) { _, new in new }
        environment["KUBERNETES_EXEC_INFO"] = String(decoding: try execInfo(interactive: interactive), as: UTF8.self)
        process.environment = environment
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardInput = interactive ? FileHandle.standardInput : FileHandle.nullDevice
        let output: Data = try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    try process.run()
                    let data = stdout.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: data)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
        if process.terminationReason == .exit, process.terminationStatus == 127 {
            throw failure("was not found" + (config.installHint.map { ": \($0)" } ?? ""))
        }
        guard process.terminationStatus == 0 else {
            throw failure("exited with status \(process.terminationStatus)")
        }
        return try parse(output)
    }

    private func execInfo(interactive: Bool) throws -> Data {
        var spec: [String: JSONValue] = ["interactive": .bool(interactive)]
        if config.provideClusterInfo {
            var cluster: [String: JSONValue] = ["server": .string(server.absoluteString)]
            if let name = tls.serverName { cluster["tls-server-name"] = .string(name) }
            if tls.insecureSkipVerify { cluster["insecure-skip-tls-verify"] = .bool(true) }
            if let proxy = tls.proxyURL { cluster["proxy-url"] = .string(proxy) }
            if let ca = tls.caPEM { cluster["certificate-authority-data"] = .string(ca.base64EncodedString()) }
            spec["cluster"] = .object(cluster)
        }
        return try JSONValue.object([
            "apiVersion": .string(config.apiVersion), "kind": .string("ExecCredential"), "spec": .object(spec),
        ]).encoded()
    }

    private func parse(_ output: Data) throws -> ExecCredential {
        guard let document = try? JSONValue.decode(output), let status = document["status"] else {
            throw failure("did not print an ExecCredential with a status")
        }
        var credentials = RequestCredentials()
        credentials.bearerToken = status["token"]?.string
        credentials.clientCertificatePEM = status["clientCertificateData"]?.string.map { Data($0.utf8) }
        credentials.clientKeyPEM = status["clientKeyData"]?.string.map { Data($0.utf8) }
        guard credentials.bearerToken != nil || credentials.clientCertificatePEM != nil else {
            throw failure("returned neither a token nor a client certificate")
        }
        var expiry: Date?
        if let text = status["expirationTimestamp"]?.string {
            guard let date = RFC3339.parse(text) else { throw failure("returned an invalid expirationTimestamp") }
            expiry = date
        }
        return ExecCredential(credentials: credentials, expiry: expiry)
    }

    private func failure(_ detail: String) -> KubeClientError {
        .credentialPlugin(command: config.command, detail: detail)
    }
}

enum RFC3339 {
    static func parse(_ text: String) -> Date? {
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return ISO8601DateFormatter().date(from: text) ?? fractional.date(from: text)
    }
}
