import Foundation

/// One permission devloop needs, asked of the API server with a SelfSubjectAccessReview.
public struct AccessRequirement: Sendable {
    public var title: String
    public var verb: String
    public var group: String
    public var resource: String
    public var subresource: String?
    /// nil for cluster-scoped resources.
    public var namespace: String?
    /// The one object asked about (the dev Namespace itself), or nil for any.
    public var name: String?
    /// Whether only a ClusterRole bound cluster-wide can grant it (creating a Namespace): a RoleBinding
    /// in the dev namespace cannot.
    public var needsClusterRole: Bool { resource == "namespaces" && verb == "create" }

    public var summary: String {
        let name =
            [resource, subresource].compactMap { $0 }.joined(separator: "/") + (group.isEmpty ? "" : ".\(group)")
        if resource == "namespaces", let object = self.name { return "\(verb) namespace \(object)" }
        return "\(verb) \(name)" + (namespace.map { " in namespace \($0)" } ?? "")
    }

    /// What devloop does in the dev namespace.
    public static func devloopNeeds(namespace: String) -> [[AccessRequirement]] {
        [
            // The applier reads the Namespace, then server-side applies it: a PATCH that creates it
            // when it is missing. Requests for a Namespace carry its own name as their namespace.
            ["get", "create", "patch"].map {
                AccessRequirement(
                    title: "apply the dev namespace", verb: $0, group: "", resource: "namespaces",
                    namespace: $0 == "create" ? nil : namespace, name: $0 == "create" ? nil : namespace)
            },
            // Apply reads the object first to report created/configured/unchanged.
            ["get", "create", "patch"].map {
                AccessRequirement(
                    title: "apply deployments", verb: $0, group: "apps", resource: "deployments", namespace: namespace)
            },
            ["get", "list", "watch"].map {
                AccessRequirement(title: "watch pods", verb: $0, group: "", resource: "pods", namespace: namespace)
            },
            // WebSocket streams are authorized as `get` up to Kubernetes 1.34 and also as `create` from 1.35.
            ["get", "create"].map {
                AccessRequirement(
                    title: "exec into pods", verb: $0, group: "", resource: "pods", subresource: "exec",
                    namespace: namespace)
            },
            ["get", "create"].map {
                AccessRequirement(
                    title: "port-forward", verb: $0, group: "", resource: "pods", subresource: "portforward",
                    namespace: namespace)
            },
            [
                AccessRequirement(
                    title: "read logs", verb: "get", group: "", resource: "pods", subresource: "log",
                    namespace: namespace)
            ],
        ]
    }
}

extension KubeClient {
    /// Whether the current user may do `requirement` (POST selfsubjectaccessreviews), with the reason given.
    public func canI(_ requirement: AccessRequirement, timeout: TimeInterval = 10) async throws -> (
        allowed: Bool, reason: String?
    ) {
        var attributes: [String: JSONValue] = [
            "verb": .string(requirement.verb), "group": .string(requirement.group),
            "resource": .string(requirement.resource),
        ]
        if let subresource = requirement.subresource { attributes["subresource"] = .string(subresource) }
        if let namespace = requirement.namespace { attributes["namespace"] = .string(namespace) }
        if let name = requirement.name { attributes["name"] = .string(name) }
        let review = JSONValue.object([
            "apiVersion": .string("authorization.k8s.io/v1"), "kind": .string("SelfSubjectAccessReview"),
            "spec": .object(["resourceAttributes": .object(attributes)]),
        ])
        let response = try await send(
            "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body: try review.encoded(),
            timeout: timeout)
        let status = try KubeClient.decodeKubernetesJSON(
            response, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")["status"]
        let reason = status?["reason"]?.string ?? status?["evaluationError"]?.string
        return (status?["allowed"]?.bool ?? false, reason.flatMap { $0.isEmpty ? nil : $0 })
    }
}
