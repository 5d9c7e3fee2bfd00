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
        shortNames: ["po"], verbs: crud, subresources: ["status", "log", "exec", "portforward", "attach"])
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
    /// `kubectl get componentstatuses`: deprecated since 1.19, still served (with a Warning) by 1.32.
    public static let componentStatuses = ResourceType(
        group: "", version: "v1", name: "componentstatuses", singularName: "componentstatus",
        kind: "ComponentStatus", namespaced: false, shortNames: ["cs"], verbs: ["get", "list"], subresources: [])
    /// `kubectl auth can-i --list`.
    public static let selfSubjectRulesReviews = ResourceType(
        group: "authorization.k8s.io", version: "v1", name: "selfsubjectrulesreviews",
        singularName: "selfsubjectrulesreview", kind: "SelfSubjectRulesReview", namespaced: false,
        shortNames: [], verbs: ["create"], subresources: [])
    /// Answered from the request, never stored.
    static let reviews: [ResourceType] = [.selfSubjectAccessReviews, .selfSubjectRulesReviews, .selfSubjectReviews]
    /// Answered from what kubesim is, never stored.
    static let answered: [ResourceType] = reviews + [.componentStatuses]

    /// Every resource served at its preferred (storage) version, in discovery order.
    public static let all: [ResourceType] =
        [
            .namespaces, .pods, .services, .configMaps, .secrets, .events, .deployments, .replicaSets,
            .componentStatuses,
        ] + workloadKinds + reviews

    /// The same resources at another version, stored at the version in `all` and converted on every verb.
    public static let otherVersions: [ResourceType] = [.horizontalPodAutoscalersV1]

    /// Every group, version and resource a request may name.
    public static let served: [ResourceType] = all + otherVersions

    /// Resources kept in the store (the reviews and component statuses are answered, never stored).
    public static let stored: [ResourceType] = all.filter { !answered.contains($0) }

    /// The version this resource is stored (and controlled) at: itself, except for `otherVersions`.
    public var storageVersion: ResourceType {
        Self.all.first { $0.group == group && $0.name == name } ?? self
    }

    static func find(group: String, version: String, name: String) -> ResourceType? {
        served.first { $0.group == group && $0.version == version && $0.name == name }
    }

    static func find(apiVersion: String, kind: String) -> ResourceType? {
        served.first { $0.apiVersion == apiVersion && $0.kind == kind }
    }
}
