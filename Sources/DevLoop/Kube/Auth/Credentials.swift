import Foundation

/// What a request carries to authenticate: a bearer token and/or a client certificate.
struct RequestCredentials: Sendable {
    var bearerToken: String?
    var clientCertificatePEM: Data?
    var clientKeyPEM: Data?
}

/// Turns a `CredentialSource` into credentials for each request: token files are re-read every time,
/// exec plugins run once and are cached until their expirationTimestamp or a 401.
actor CredentialProvider {
    private let source: CredentialSource
    private let plugin: ExecCredentialPlugin?
    private var cached: ExecCredential?
    /// The plugin run under way: concurrent callers share it (client-go holds a mutex around the run),
    /// so a burst of connections starts one `aws eks get-token` or one browser login, not one each.
    private var inFlight: Task<ExecCredential, any Error>?

    init(source: CredentialSource, cluster: KubeClientConfig) {
        self.source = source
        if case .exec(let config) = source {
            plugin = ExecCredentialPlugin(config: config, server: cluster.server, tls: cluster.tls)
        } else {
            plugin = nil
        }
    }

    func current() async throws -> RequestCredentials {
        switch source {
        case .none:
            return RequestCredentials()
        case .token(let token):
            return RequestCredentials(bearerToken: token)
        case .tokenFile(let path):
            return RequestCredentials(bearerToken: try Self.readToken(path))
        case .exec:
            if let cached, !cached.isExpired(at: Date()) { return cached.credentials }
            guard let plugin else { return RequestCredentials() }
            let run = inFlight ?? Task { try await plugin.run() }
            inFlight = run
            defer { if inFlight == run { inFlight = nil } }
            let fresh = try await run.value
            cached = fresh
            return fresh.credentials
        }
    }

    /// After a 401: drops what may be stale. True when asking again could give different credentials,
    /// so the request is worth one retry.
    func invalidate() -> Bool {
        switch source {
        case .exec:
            cached = nil
            inFlight = nil
            return true
        case .tokenFile:
            return true
        case .none, .token:
            return false
        }
    }

    static func readToken(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw KubeConfigError.unreadableCredential(
                field: "tokenFile", file: path, detail: "file missing or unreadable")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw KubeConfigError.unreadableCredential(field: "tokenFile", file: path, detail: "the file is empty")
        }
        return token
    }
}
