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

    public var summary: String {
        let name =
            [resource, subresource].compactMap { $0 }.joined(separator: "/") + (group.isEmpty ? "" : ".\(group)")
        return "\(verb) \(name)" + (namespace.map { " in namespace \($0)" } ?? "")
    }

    /// What devloop does in the dev namespace.
    public static func devloopNeeds(namespace: String) -> [[AccessRequirement]] {
        [
            [AccessRequirement(title: "create namespaces", verb: "create", group: "", resource: "namespaces")],
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
