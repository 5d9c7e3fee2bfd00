import Foundation

/// One kubeconfig file as written, its relative paths already resolved against the file's folder
/// (client-go's ResolveLocalPaths).
public struct KubeConfigFile: Sendable {
    public struct Cluster: Sendable, Equatable {
        public var server: String?
        public var certificateAuthority: String?
        public var certificateAuthorityData: String?
        public var insecureSkipTLSVerify = false
        public var tlsServerName: String?
        public var proxyURL: String?
    }

    public struct User: Sendable, Equatable {
        public var clientCertificate: String?
        public var clientCertificateData: String?
        public var clientKey: String?
        public var clientKeyData: String?
        public var token: String?
        public var tokenFile: String?
        public var exec: ExecPluginConfig?
        /// Ways of authenticating devloop does not implement, each as "field (what it means)": using this
        /// user must fail loudly instead of going anonymous.
        public var unsupported: [String] = []
    }

    public struct Context: Sendable, Equatable {
        public var cluster: String
        public var user: String?
        public var namespace: String?
    }

    public var path: String
    public var clusters: [String: Cluster] = [:]
    public var users: [String: User] = [:]
    public var contexts: [String: Context] = [:]
    public var currentContext: String?

    public init(path: String, text: String) throws {
        self.path = path
        let root: JSONValue
        do {
            root = try YAMLDocuments.parseOne(text)
        } catch {
            throw KubeConfigError.invalid(file: path, detail: YAMLErrorDescription.of(error))
        }
        guard root != .null else { return }
        guard root.object != nil else { throw KubeConfigError.invalid(file: path, detail: "not a kubeconfig mapping") }
        let reader = EntryReader(file: path, directory: (path as NSString).deletingLastPathComponent)
        currentContext = root["current-context"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        clusters = try reader.named(root, "clusters", "cluster") { entry, field in
            var cluster = Cluster()
            cluster.server = try reader.string(entry, "server", field)
            cluster.certificateAuthority = try reader.path(entry, "certificate-authority", field)
            cluster.certificateAuthorityData = try reader.string(entry, "certificate-authority-data", field)
            cluster.insecureSkipTLSVerify = entry["insecure-skip-tls-verify"]?.bool ?? false
            cluster.tlsServerName = try reader.string(entry, "tls-server-name", field)
            cluster.proxyURL = try reader.string(entry, "proxy-url", field)
            return cluster
        }
        users = try reader.named(root, "users", "user") { entry, field in
            var user = User()
            user.clientCertificate = try reader.path(entry, "client-certificate", field)
            user.clientCertificateData = try reader.string(entry, "client-certificate-data", field)
            user.clientKey = try reader.path(entry, "client-key", field)
            user.clientKeyData = try reader.string(entry, "client-key-data", field)
            user.token = try reader.string(entry, "token", field)
            user.tokenFile = try reader.path(entry, "tokenFile", field)
            if let exec = entry["exec"], exec != .null {
                user.exec = try ExecPluginConfig(exec, file: path, field: "\(field).exec", directory: reader.directory)
            }
            user.unsupported = UnsupportedAuth.fields(of: entry)
            return user
        }
        contexts = try reader.named(root, "contexts", "context") { entry, field in
            Context(
                cluster: try reader.string(entry, "cluster", field) ?? "",
                user: try reader.string(entry, "user", field),
                namespace: try reader.string(entry, "namespace", field))
        }
    }
}

/// Reads the `- name: N; cluster: {...}` lists with errors that name the file and field.
private struct EntryReader {
    let file: String
    let directory: String

    func named<T>(_ root: JSONValue, _ list: String, _ key: String, _ build: (JSONValue, String) throws -> T) throws
        -> [String: T]
    {
        guard let value = root[list], value != .null else { return [:] }
        guard let items = value.array else {
            throw KubeConfigError.invalid(file: file, detail: "\(list) is not a list")
        }
        var result: [String: T] = [:]
        for (index, item) in items.enumerated() {
            guard let name = item["name"]?.string, !name.isEmpty else {
                throw KubeConfigError.invalid(file: file, detail: "\(list)[\(index)] has no name")
            }
            let field = "\(list)[\(name)].\(key)"
            // Within one file a repeated name is an error in kubectl too; the first one is kept here.
            if result[name] == nil { result[name] = try build(item[key] ?? .object([:]), field) }
        }
        return result
    }

    func string(_ entry: JSONValue, _ key: String, _ field: String) throws -> String? {
        guard let value = entry[key], value != .null else { return nil }
        switch value {
        case .string(let text): return text.isEmpty ? nil : text
        case .bool(let flag): return String(flag)
        case .number: return value.int.map(String.init)
        default: throw KubeConfigError.invalid(file: file, detail: "\(field).\(key) must be a string")
        }
    }

    func path(_ entry: JSONValue, _ key: String, _ field: String) throws -> String? {
        try string(entry, key, field).map { resolve($0, against: directory) }
    }
}

func resolve(_ path: String, against directory: String) -> String {
    if path.hasPrefix("/") { return path }
    if path.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] {
        return home + path.dropFirst()
    }
    return URL(fileURLWithPath: directory).appendingPathComponent(path).standardizedFileURL.path
}
