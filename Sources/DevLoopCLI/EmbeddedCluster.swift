import DevLoop
import Foundation
import KubeSim

/// kubesim inside the devloop process, state under `<root>/.devloop/kubesim/`: the default cluster
/// when no kubeconfig context exists.
enum EmbeddedCluster {
    static func directory(root: String) -> URL {
        URL(fileURLWithPath: root + "/.devloop/kubesim").standardizedFileURL
    }

    static func start(root: String) async throws -> ClusterConnection {
        let server: KubeSimServer
        do {
            server = try await KubeSimServer.start(directory: directory(root: root))
        } catch {
            throw SessionError.cluster("cannot start the embedded kubesim: \(error)")
        }
        do {
            let config = try KubeClientConfig.load(
                loader: KubeConfigLoader(environment: [:], explicitPath: server.kubeconfigPath))
            return ClusterConnection(
                client: KubeClient(config: config),
                summary: ClusterSummary(
                    kind: "embedded", kubeconfig: server.kubeconfigPath, context: config.contextName,
                    server: config.server.absoluteString),
                stop: { await server.stop() })
        } catch {
            await server.stop()
            throw error
        }
    }
}
