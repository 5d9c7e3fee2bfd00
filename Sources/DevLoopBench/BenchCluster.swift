import DevLoop
import Foundation
import KubeSim

/// A kubesim the bench starts for itself (state in a temporary folder) and a client for it.
struct BenchCluster {
    let server: KubeSimServer
    let client: KubeClient
    let directory: URL
    var kubectl: Kubectl { Kubectl(kubeconfig: server.kubeconfigPath) }

    static func run<T>(_ body: (BenchCluster) async throws -> T) async throws -> T {
        let directory = URL(fileURLWithPath: try BenchTree.temporaryDirectory())
        let runtime = BubblewrapPodRuntime(
            configuration: BubblewrapRuntimeConfiguration(
                stateDirectory: directory.appendingPathComponent("pods"), backOffBase: .seconds(1),
                backOffMax: .seconds(2)))
        let server = try await KubeSimServer.start(directory: directory, runtime: runtime)
        let cluster: BenchCluster
        do {
            let config = try KubeClientConfig.load(
                loader: KubeConfigLoader(environment: [:], explicitPath: server.kubeconfigPath))
            cluster = BenchCluster(server: server, client: KubeClient(config: config), directory: directory)
        } catch {
            await server.stop()
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let result = try await body(cluster)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }
}
