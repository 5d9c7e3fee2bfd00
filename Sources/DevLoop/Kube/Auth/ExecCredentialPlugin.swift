import Foundation
import Subprocess

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
    /// Past it the plugin is killed and the request fails; nil: `timeout` or `interactiveTimeout`.
    var deadline: Duration?

    func run() async throws -> ExecCredential {
        // As client-go: the plugin gets our terminal (for a login prompt) unless it says it never needs one.
        let interactive = config.interactiveMode != "Never" && isatty(STDIN_FILENO) == 1
        if config.interactiveMode == "Always", !interactive {
            throw failure("needs an interactive terminal (interactiveMode: Always), and standard input is not one")
        }
        var environment = ProcessInfo.processInfo.environment
        environment.merge(config.env) { _, new in new }
        environment["KUBERNETES_EXEC_INFO"] = String(decoding: try execInfo(interactive: interactive), as: UTF8.self)
        let (status, output) = try await withDeadline(
            deadline ?? (interactive ? Self.interactiveTimeout : Self.timeout)
        ) {
            [environment] in try await spawn(environment: environment, interactive: interactive)
        }
        if case .exited(127) = status {
            throw failure("was not found" + (config.installHint.map { ": \($0)" } ?? ""))
        }
        switch status {
        case .exited(0): return try parse(output)
        case .exited(let code): throw failure("exited with status \(code)")
        case .signaled(let signal): throw failure("was killed by signal \(signal)")
        }
    }

    /// How long a plugin may take; one that prompts for a login waits for a person, so longer.
    static let timeout: Duration = .seconds(60)
    static let interactiveTimeout: Duration = .seconds(300)
    /// An ExecCredential is a few KB; more is not one.
    static let outputLimit = 1 << 20

    /// swift-subprocess spawns with every other descriptor closed, reads stdout without blocking a
    /// thread, and tears the plugin down (SIGKILL) when the waiting task is cancelled.
    private func spawn(environment: [String: String], interactive: Bool) async throws -> (TerminationStatus, Data) {
        let executable = Executable.path("/usr/bin/env")
        let arguments = Arguments([config.command] + config.args)
        let variables = Environment.custom(
            Dictionary(
                uniqueKeysWithValues: environment.compactMap { key, value in
                    Environment.Key(rawValue: key).map { ($0, value) }
                }))
        if interactive {
            let result = try await Subprocess.run(
                executable, arguments: arguments, environment: variables, input: .currentStandardInput,
                output: .data(limit: Self.outputLimit), error: .currentStandardError)
            return (result.terminationStatus, result.standardOutput)
        }
        let result = try await Subprocess.run(
            executable, arguments: arguments, environment: variables, input: .none,
            output: .data(limit: Self.outputLimit), error: .currentStandardError)
        return (result.terminationStatus, result.standardOutput)
    }

    private func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else {
                throw failure("did not finish within \(limit)")
            }
            return result
        }
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
