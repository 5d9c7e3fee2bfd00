import Foundation

/// How the client authenticates above TLS. Descriptions never contain the secret.
public enum CredentialSource: Sendable, Equatable {
    case none
    case token(String)
    /// Re-read on every request: projected service-account tokens and rotating files change under us.
    case tokenFile(String)
    case exec(ExecPluginConfig)

    public var summary: String {
        switch self {
        case .none: return "none"
        case .token: return "bearer token (inline in the kubeconfig)"
        case .tokenFile(let path): return "bearer token from file \(path)"
        case .exec(let plugin): return "exec credential plugin \(plugin.command)"
        }
    }
}

/// Everything needed to talk to one cluster as one user: the resolved context.
public struct KubeClientConfig: Sendable {
    public var server: URL
    public var tls: TLSSettings
    public var credentials: CredentialSource
    public var namespace: String
    public var contextName: String
    public var clusterName: String
    public var userName: String
    /// The kubeconfig files read (empty for in-cluster configuration).
    public var files: [String]
    /// How the server certificate is trusted, in words (e.g. "CA from file /x/ca.crt").
    public var trustSummary: String
    /// How the client authenticates, in words, never the secret.
    public var authSummary: String

    public init(
        server: URL, tls: TLSSettings = TLSSettings(), credentials: CredentialSource = .none,
        namespace: String = "default", contextName: String = "", clusterName: String = "", userName: String = "",
        files: [String] = [], trustSummary: String = "system trust store", authSummary: String = "none"
    ) {
        self.server = server
        self.tls = tls
        self.credentials = credentials
        self.namespace = namespace
        self.contextName = contextName
        self.clusterName = clusterName
        self.userName = userName
        self.files = files
        self.trustSummary = trustSummary
        self.authSummary = authSummary
    }

    /// A warning the user must see, or nil: verification off is only ever what the kubeconfig asked for.
    public var securityWarning: String? {
        tls.insecureSkipVerify
            ? "warning: TLS verification is off for cluster \"\(clusterName)\" (insecure-skip-tls-verify in the "
                + "kubeconfig): the API server's identity is not checked"
            : nil
    }

    /// Resolves the context (`--context` or current-context) of merged kubeconfig files.
    public init(merged: MergedKubeConfig, context override: String? = nil, namespace: String? = nil) throws {
        guard let contextName = override ?? merged.currentContext else {
            throw KubeConfigError.noCurrentContext(files: merged.files)
        }
        guard let context = merged.contexts[contextName] else {
            throw KubeConfigError.unknownContext(
                contextName, available: Array(merged.contexts.keys), files: merged.files)
        }
        let clusterName = context.value.cluster
        guard let (clusterFile, cluster) = merged.clusters[clusterName] else {
            throw KubeConfigError.unknownCluster(clusterName, context: contextName)
        }
        guard let serverText = cluster.server, let server = URL(string: serverText), server.host != nil else {
            throw KubeConfigError.missingServer(cluster: clusterName)
        }
        let userName = context.value.user ?? ""
        let user = merged.users[userName]
        let material = CredentialMaterial(clusterFile: clusterFile, userFile: user?.file ?? clusterFile)
        var tls = TLSSettings(insecureSkipVerify: cluster.insecureSkipTLSVerify, serverName: cluster.tlsServerName)
        tls.proxyURL = cluster.proxyURL
        var trust = "system trust store"
        if let data = cluster.certificateAuthorityData {
            tls.caPEM = try material.decode(data, field: "clusters[\(clusterName)].certificate-authority-data")
            trust = "CA from certificate-authority-data (cluster \(clusterName))"
        } else if let path = cluster.certificateAuthority {
            tls.caPEM = try material.read(path, field: "clusters[\(clusterName)].certificate-authority")
            trust = "CA from file \(path)"
        }
        if cluster.insecureSkipTLSVerify {
            if tls.caPEM != nil { throw KubeConfigError.conflictingTrust(cluster: clusterName) }
            trust = "verification OFF (insecure-skip-tls-verify)"
        }
        var credentials = CredentialSource.none
        var auth: [String] = []
        if let user = user?.value {
            let field = "users[\(userName)]"
            if let error = UnsupportedAuth.error(user.unsupported, field: field, file: material.userFile) {
                throw error
            }
            if let data = user.clientCertificateData {
                tls.clientCertificatePEM = try material.decode(
                    data, field: "\(field).client-certificate-data", user: true)
            } else if let path = user.clientCertificate {
                tls.clientCertificatePEM = try material.read(path, field: "\(field).client-certificate")
            }
            if let data = user.clientKeyData {
                tls.clientKeyPEM = try material.decode(data, field: "\(field).client-key-data", user: true)
            } else if let path = user.clientKey {
                tls.clientKeyPEM = try material.read(path, field: "\(field).client-key")
            }
            if tls.clientCertificatePEM != nil { auth.append("client certificate") }
            if let token = user.token {
                credentials = .token(token)
            } else if let path = user.tokenFile {
                credentials = .tokenFile(path)
            } else if let exec = user.exec {
                credentials = .exec(exec)
            }
            if credentials != .none { auth.append(credentials.summary) }
        }
        self.init(
            server: server, tls: tls, credentials: credentials,
            namespace: namespace ?? context.value.namespace ?? "default", contextName: contextName,
            clusterName: clusterName, userName: userName, files: merged.files, trustSummary: trust,
            authSummary: auth.isEmpty ? "none (anonymous)" : auth.joined(separator: " + "))
    }

    /// kubectl's order: the kubeconfig files when any exist, else the in-cluster service account.
    public static func load(
        loader: KubeConfigLoader = KubeConfigLoader(), context: String? = nil, namespace: String? = nil,
        inCluster: InClusterConfig = InClusterConfig()
    ) throws -> KubeClientConfig {
        let merged = try loader.load()
        if merged.files.isEmpty, loader.explicitPath == nil, let config = try inCluster.load(namespace: namespace) {
            return config
        }
        if merged.files.isEmpty { throw KubeConfigError.noConfiguration(searched: loader.candidatePaths) }
        return try KubeClientConfig(merged: merged, context: context, namespace: namespace)
    }
}

/// Reads certificate and key material, naming the field and the file that declared it on failure
/// (never the content).
private struct CredentialMaterial {
    let clusterFile: String
    let userFile: String

    func decode(_ base64: String, field: String, user: Bool = false) throws -> Data {
        guard let data = Data(base64Encoded: base64, options: .ignoreUnknownCharacters), !data.isEmpty else {
            throw KubeConfigError.invalid(file: user ? userFile : clusterFile, detail: "\(field) is not valid base64")
        }
        return data
    }

    func read(_ path: String, field: String) throws -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw KubeConfigError.unreadableCredential(field: field, file: path, detail: "file missing or unreadable")
        }
    }
}
