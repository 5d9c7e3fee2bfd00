import Foundation

/// A kubeconfig the user must fix: `devloop doctor` exits 2 for these.
public enum KubeConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    case unreadable(file: String, detail: String)
    case invalid(file: String, detail: String)
    case noConfiguration(searched: [String])
    case noCurrentContext(files: [String])
    case unknownContext(String, available: [String], files: [String])
    case unknownCluster(String, context: String)
    case missingServer(cluster: String)
    case unreadableCredential(field: String, file: String, detail: String)
    case conflictingTrust(cluster: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let detail):
            return "cannot read kubeconfig \(file): \(detail)"
        case .invalid(let file, let detail):
            return "invalid kubeconfig \(file): \(detail)"
        case .noConfiguration(let searched):
            return "no kubeconfig found (looked at \(searched.joined(separator: ", "))) and not running in a cluster; "
                + "set KUBECONFIG or create ~/.kube/config"
        case .noCurrentContext(let files):
            return "no current-context in \(files.joined(separator: ", ")); pass --context NAME"
        case .unknownContext(let name, let available, let files):
            let known = available.isEmpty ? "none" : available.sorted().joined(separator: ", ")
            return "context \"\(name)\" not found in \(files.joined(separator: ", ")) (known contexts: \(known))"
        case .unknownCluster(let cluster, let context):
            return "context \"\(context)\" refers to cluster \"\(cluster)\", which no kubeconfig file defines"
        case .missingServer(let cluster):
            return "cluster \"\(cluster)\" has no server URL"
        case .unreadableCredential(let field, let file, let detail):
            return "cannot read \(field) from \(file): \(detail)"
        case .conflictingTrust(let cluster):
            return "cluster \"\(cluster)\" sets both a certificate authority and insecure-skip-tls-verify; keep one"
        }
    }
}
