import Foundation

/// A pod's own service account (client-go's rest.InClusterConfig): KUBERNETES_SERVICE_HOST/PORT and the
/// mounted token, CA and namespace. The token is a file that the kubelet rotates, so it is re-read.
public struct InClusterConfig: Sendable {
    public var environment: [String: String]
    public var secretsDirectory: String

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        secretsDirectory: String = "/var/run/secrets/kubernetes.io/serviceaccount"
    ) {
        self.environment = environment
        self.secretsDirectory = secretsDirectory
    }

    /// nil when not running in a pod.
    public func load(namespace override: String? = nil) throws -> KubeClientConfig? {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"],
            !host.isEmpty, !port.isEmpty
        else { return nil }
        let tokenPath = secretsDirectory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else { return nil }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        guard let server = URL(string: "https://\(hostPart):\(port)") else { return nil }
        let caPath = secretsDirectory + "/ca.crt"
        let ca = try? Data(contentsOf: URL(fileURLWithPath: caPath))
        let fileNamespace = (try? String(contentsOfFile: secretsDirectory + "/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return KubeClientConfig(
            server: server, tls: TLSSettings(caPEM: ca), credentials: .tokenFile(tokenPath),
            namespace: override ?? fileNamespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default",
            contextName: "in-cluster", clusterName: "in-cluster", userName: "service account",
            trustSummary: ca == nil ? "system trust store" : "CA from file \(caPath)",
            authSummary: CredentialSource.tokenFile(tokenPath).summary)
    }
}
