import Foundation

/// Finds and merges kubeconfig files as kubectl does: the KUBECONFIG list (duplicates removed, missing
/// files skipped), else ~/.kube/config; the first file to define a named cluster/user/context wins the
/// whole entry, and current-context comes from the first file that sets it.
public struct KubeConfigLoader: Sendable {
    public var environment: [String: String]
    /// `--kubeconfig`: a single file that must exist.
    public var explicitPath: String?

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, explicitPath: String? = nil
    ) {
        self.environment = environment
        self.explicitPath = explicitPath
    }

    /// The files kubectl would consider, in precedence order.
    public var candidatePaths: [String] {
        if let explicitPath { return [explicitPath] }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            var seen = Set<String>()
            return list.split(separator: ":").map(String.init).filter { !$0.isEmpty && seen.insert($0).inserted }
        }
        return [(environment["HOME"] ?? NSHomeDirectory()) + "/.kube/config"]
    }

    public func load() throws -> MergedKubeConfig {
        var merged = MergedKubeConfig()
        for path in candidatePaths {
            guard FileManager.default.fileExists(atPath: path) else {
                if path == explicitPath { throw KubeConfigError.unreadable(file: path, detail: "no such file") }
                continue
            }
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw KubeConfigError.unreadable(file: path, detail: (error as NSError).localizedDescription)
            }
            merged.add(try KubeConfigFile(path: path, text: text))
        }
        return merged
    }
}

/// The merged view of every kubeconfig file read.
public struct MergedKubeConfig: Sendable {
    public private(set) var files: [String] = []
    public private(set) var clusters: [String: (file: String, value: KubeConfigFile.Cluster)] = [:]
    public private(set) var users: [String: (file: String, value: KubeConfigFile.User)] = [:]
    public private(set) var contexts: [String: (file: String, value: KubeConfigFile.Context)] = [:]
    public private(set) var currentContext: String?

    mutating func add(_ file: KubeConfigFile) {
        files.append(file.path)
        if currentContext == nil { currentContext = file.currentContext }
        for (name, cluster) in file.clusters where clusters[name] == nil { clusters[name] = (file.path, cluster) }
        for (name, user) in file.users where users[name] == nil { users[name] = (file.path, user) }
        for (name, context) in file.contexts where contexts[name] == nil { contexts[name] = (file.path, context) }
    }
}
