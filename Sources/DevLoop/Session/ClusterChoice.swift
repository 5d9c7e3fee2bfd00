import Foundation

/// A connected cluster and how to let go of it.
public struct ClusterConnection: Sendable {
    public var client: KubeClient
    public var summary: ClusterSummary
    /// Stops what the session started for it (the embedded kubesim and its pods); nothing for a real cluster.
    public var stop: @Sendable () async -> Void

    public init(client: KubeClient, summary: ClusterSummary, stop: @escaping @Sendable () async -> Void = {}) {
        self.client = client
        self.summary = summary
        self.stop = stop
    }
}

/// Which cluster `up` uses: the kubeconfig's context when one exists, the embedded kubesim when none
/// does (or with `--sim`). A context that exists but fails is an error, never a fallback.
public enum ClusterChoice: Sendable {
    case kubeconfig(KubeClientConfig)
    case embedded

    public static func decide(loader: KubeConfigLoader, context: String?, sim: Bool) throws -> ClusterChoice {
        if sim { return .embedded }
        let merged = try loader.load()
        if merged.files.isEmpty, context == nil {
            // KUBECONFIG naming only missing files is a mistake to report (kubectl fails too), not a
            // reason to start the embedded kubesim in its place.
            if let list = loader.environment["KUBECONFIG"], !list.isEmpty, loader.explicitPath == nil {
                throw KubeConfigError.unreadable(
                    file: list,
                    detail: "no such file (named by KUBECONFIG; unset it, or pass --sim, for the embedded kubesim)")
            }
            return .embedded
        }
        if context == nil, merged.currentContext?.isEmpty ?? true { return .embedded }
        return .kubeconfig(try KubeClientConfig(merged: merged, context: context))
    }

    /// Connects to the kubeconfig's cluster, or explains in `devloop doctor`'s words why not.
    public static func connect(_ config: KubeClientConfig, loader: KubeConfigLoader) async throws -> ClusterConnection {
        let client = KubeClient(config: config)
        do {
            _ = try await client.get("/version", timeout: 10)
        } catch {
            let report = await Doctor(loader: loader, context: config.contextName).run()
            throw SessionError.cluster(
                "cannot use the cluster of context \"\(config.contextName)\" (\(config.server.absoluteString)); "
                    + "devloop doctor says:\n\(report.text())")
        }
        return ClusterConnection(
            client: client,
            summary: ClusterSummary(
                kind: "kubeconfig", kubeconfig: config.files.joined(separator: ":"), context: config.contextName,
                server: config.server.absoluteString))
    }
}
