import Foundation

/// The cluster of the running (or last) session, for `logs`, `sync` and `down`.
public enum SessionCluster {
    /// nil when the session ran against its embedded kubesim and that is not running now.
    public static func connect(root: String, context: String? = nil) async throws -> ClusterConnection? {
        let state = SessionState.read(root: root)
        let running = SessionLock.runningSession(root: root) != nil
        if let cluster = state?.cluster, cluster.kind == "embedded" {
            guard running else { return nil }
            let config = try KubeClientConfig.load(
                loader: KubeConfigLoader(environment: [:], explicitPath: cluster.kubeconfig))
            return ClusterConnection(client: KubeClient(config: config), summary: cluster)
        }
        var environment = ProcessInfo.processInfo.environment
        if let cluster = state?.cluster, !cluster.kubeconfig.isEmpty { environment["KUBECONFIG"] = cluster.kubeconfig }
        let loader = KubeConfigLoader(environment: environment)
        switch try ClusterChoice.decide(loader: loader, context: context ?? state?.cluster?.context, sim: false) {
        case .embedded: return nil
        case .kubeconfig(let config): return try await ClusterChoice.connect(config, loader: loader)
        }
    }
}
