/// One kind of object the API server serves, with what discovery says about it.
public struct ResourceType: Sendable, Hashable {
    public var group: String
    public var version: String
    public var name: String
    public var singularName: String
    public var kind: String
    public var namespaced: Bool
    public var shortNames: [String]
    public var verbs: [String]
    public var subresources: [String]

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// "pods" or "deployments.apps": how kube-apiserver names a resource in its messages.
    public var qualifiedName: String { group.isEmpty ? name : "\(name).\(group)" }
    /// The kind of the list object, as in `PodList`.
    public var listKind: String { kind + "List" }

    static let crud = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    public static let namespaces = ResourceType(
        group: "", version: "v1", name: "namespaces", singularName: "namespace", kind: "Namespace",
        namespaced: false, shortNames: ["ns"], verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
        subresources: ["status"])
    public static let pods = ResourceType(
        group: "", version: "v1", name: "pods", singularName: "pod", kind: "Pod", namespaced: true,
        shortNames: ["po"], verbs: crud, subresources: ["status", "log", "exec", "portforward"])
    public static let services = ResourceType(
        group: "", version: "v1", name: "services", singularName: "service", kind: "Service", namespaced: true,
        shortNames: ["svc"], verbs: crud, subresources: ["status"])
    public static let configMaps = ResourceType(
        group: "", version: "v1", name: "configmaps", singularName: "configmap", kind: "ConfigMap",
        namespaced: true, shortNames: ["cm"], verbs: crud, subresources: [])
    public static let secrets = ResourceType(
        group: "", version: "v1", name: "secrets", singularName: "secret", kind: "Secret", namespaced: true,
        shortNames: [], verbs: crud, subresources: [])
    public static let events = ResourceType(
        group: "", version: "v1", name: "events", singularName: "event", kind: "Event", namespaced: true,
        shortNames: ["ev"], verbs: crud, subresources: [])
    public static let deployments = ResourceType(
        group: "apps", version: "v1", name: "deployments", singularName: "deployment", kind: "Deployment",
        namespaced: true, shortNames: ["deploy"], verbs: crud, subresources: ["status", "scale"])
    public static let replicaSets = ResourceType(
        group: "apps", version: "v1", name: "replicasets", singularName: "replicaset", kind: "ReplicaSet",
        namespaced: true, shortNames: ["rs"], verbs: crud, subresources: ["status", "scale"])
    public static let selfSubjectAccessReviews = ResourceType(
        group: "authorization.k8s.io", version: "v1", name: "selfsubjectaccessreviews",
        singularName: "selfsubjectaccessreview", kind: "SelfSubjectAccessReview", namespaced: false,
        shortNames: [], verbs: ["create"], subresources: [])
    public static let selfSubjectReviews = ResourceType(
        group: "authentication.k8s.io", version: "v1", name: "selfsubjectreviews",
        singularName: "selfsubjectreview", kind: "SelfSubjectReview", namespaced: false,
        shortNames: [], verbs: ["create"], subresources: [])
    /// Answered from the request, never stored.
    static let reviews: [ResourceType] = [.selfSubjectAccessReviews, .selfSubjectReviews]

    /// Every resource served, in discovery order.
    public static let all: [ResourceType] =
        [
            .namespaces, .pods, .services, .configMaps, .secrets, .events, .deployments, .replicaSets,
        ] + workloadKinds + reviews

    /// Resources kept in the store (the reviews are answered, never stored).
    public static let stored: [ResourceType] = all.filter { !reviews.contains($0) }

    static func find(group: String, version: String, name: String) -> ResourceType? {
        all.first { $0.group == group && $0.version == version && $0.name == name }
    }

    static func find(apiVersion: String, kind: String) -> ResourceType? {
        all.first { $0.apiVersion == apiVersion && $0.kind == kind }
    }
}
