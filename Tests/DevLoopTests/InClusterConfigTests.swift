import DevLoop
import Foundation
import Testing

/// The in-cluster service account, used when no kubeconfig exists, as client-go's rest.InClusterConfig.
@Suite struct InClusterConfigTests {
    @Test func readsTheServiceAccountWhenNoKubeconfigExists() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let secrets = folder.url.appendingPathComponent("sa")
        _ = try folder.file("sa/token", "sa-token\n")
        _ = try folder.file("sa/ca.crt", "CA")
        _ = try folder.file("sa/namespace", "team-a\n")
        let environment = [
            "HOME": folder.url.path, "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
        ]
        let config = try KubeClientConfig.load(
            loader: KubeConfigLoader(environment: environment),
            inCluster: InClusterConfig(environment: environment, secretsDirectory: secrets.path))
        #expect(config.server.absoluteString == "https://10.96.0.1:443")
        #expect(config.namespace == "team-a")
        #expect(config.credentials == .tokenFile(secrets.appendingPathComponent("token").path))
        #expect(config.tls.caPEM == Data("CA".utf8))
        #expect(!config.authSummary.contains("sa-token"))

        // Outside a pod, with no kubeconfig either: a clear error naming where it looked.
        let nowhere = ["HOME": folder.url.path]
        #expect(throws: KubeConfigError.self) {
            try KubeClientConfig.load(
                loader: KubeConfigLoader(environment: nowhere), inCluster: InClusterConfig(environment: nowhere))
        }
    }
}
