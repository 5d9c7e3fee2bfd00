import Foundation

/// Where a kind lives in the API: its plural resource name and whether it is namespaced.
public struct ResourceType: Sendable, Equatable {
    public var apiVersion: String
    public var kind: String
    public var plural: String
    public var namespaced: Bool

    /// The collection path, e.g. /apis/apps/v1/namespaces/dev/deployments.
    public func collectionPath(namespace: String?) -> String {
        let prefix = apiVersion.contains("/") ? "/apis/\(apiVersion)" : "/api/\(apiVersion)"
        guard namespaced, let namespace else { return "\(prefix)/\(plural)" }
        return "\(prefix)/namespaces/\(namespace)/\(plural)"
    }
}

/// Maps kind + apiVersion to resources: a table of the common built-in kinds, then API discovery
/// (GET /api/v1 or /apis/GROUP/VERSION) for everything else, such as custom resources.
public actor ResourceResolver {
    private let client: KubeClient
    private var discovered: [String: [ResourceType]] = [:]

    static let builtIn: [ResourceType] = [
        ("v1", "Namespace", "namespaces", false), ("v1", "Pod", "pods", true), ("v1", "Service", "services", true),
        ("v1", "ConfigMap", "configmaps", true), ("v1", "Secret", "secrets", true),
        ("v1", "ServiceAccount", "serviceaccounts", true),
        ("v1", "PersistentVolumeClaim", "persistentvolumeclaims", true),
        ("v1", "PersistentVolume", "persistentvolumes", false), ("v1", "Node", "nodes", false),
        ("v1", "Endpoints", "endpoints", true), ("v1", "LimitRange", "limitranges", true),
        ("v1", "ResourceQuota", "resourcequotas", true),
        ("apps/v1", "Deployment", "deployments", true), ("apps/v1", "StatefulSet", "statefulsets", true),
        ("apps/v1", "DaemonSet", "daemonsets", true), ("apps/v1", "ReplicaSet", "replicasets", true),
        ("batch/v1", "Job", "jobs", true), ("batch/v1", "CronJob", "cronjobs", true),
        ("networking.k8s.io/v1", "Ingress", "ingresses", true),
        ("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true),
        ("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", true),
        ("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true),
        ("rbac.authorization.k8s.io/v1", "Role", "roles", true),
        ("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", true),
        ("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", false),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", false),
    ].map { ResourceType(apiVersion: $0.0, kind: $0.1, plural: $0.2, namespaced: $0.3) }

    public init(client: KubeClient) {
        self.client = client
    }

    public func resolve(apiVersion: String, kind: String) async throws -> ResourceType {
        if let known = Self.builtIn.first(where: { $0.apiVersion == apiVersion && $0.kind == kind }) { return known }
        if discovered[apiVersion] == nil {
            let path = apiVersion.contains("/") ? "/apis/\(apiVersion)" : "/api/\(apiVersion)"
            let list: JSONValue
            do {
                list = try await client.get(path)
            } catch let error as KubeClientError where error.statusCode == 404 {
                // The group or version is not served (a CRD not installed yet).
                throw ManifestError.unknownKind(kind: kind, apiVersion: apiVersion)
            }
            discovered[apiVersion] = (list["resources"]?.array ?? []).compactMap { entry in
                guard let name = entry["name"]?.string, !name.contains("/"), let kind = entry["kind"]?.string else {
                    return nil
                }
                return ResourceType(
                    apiVersion: apiVersion, kind: kind, plural: name, namespaced: entry["namespaced"]?.bool ?? true)
            }
        }
        guard let found = discovered[apiVersion]?.first(where: { $0.kind == kind }) else {
            throw ManifestError.unknownKind(kind: kind, apiVersion: apiVersion)
        }
        return found
    }
}
