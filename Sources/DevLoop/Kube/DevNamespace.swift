/// The dev namespace, checked against the cluster: it exists and carries `devloop.dev/dev=true`.
/// Only `ensure` and `verify` make one, and the guarded applier takes nothing else, so no code path
/// can apply into a namespace that devloop did not mark as its own.
public struct DevNamespace: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    /// Whether `ensure` created it just now (a later `down` may delete what devloop created).
    public let created: Bool

    private init(name: String, created: Bool) {
        self.name = name
        self.created = created
    }

    public var description: String { name }

    public static let createdByAnnotation = (key: "devloop.dev/created-by", value: "devloop")

    /// Creates the namespace, labelled and annotated, when it is absent; accepts it when it exists
    /// with the dev label; refuses (changing nothing) when it exists without the label.
    public static func ensure(client: KubeClient, name: String) async throws -> DevNamespace {
        try check(name)
        if let existing = try await current(client: client, name: name) {
            return try accepted(existing, name: name)
        }
        let body: JSONValue = .object([
            "apiVersion": .string("v1"), "kind": .string("Namespace"),
            "metadata": .object([
                "name": .string(name),
                "labels": .object([DevLoopConfig.devLabel.key: .string(DevLoopConfig.devLabel.value)]),
                "annotations": .object([createdByAnnotation.key: .string(createdByAnnotation.value)]),
            ]),
        ])
        do {
            _ = try await client.create("/api/v1/namespaces", body)
        } catch let error as KubeClientError where error.statusCode == 409 {
            // Someone created it between our read and our create: judge theirs like any existing one.
            guard let existing = try await current(client: client, name: name) else { throw error }
            return try accepted(existing, name: name)
        }
        return DevNamespace(name: name, created: true)
    }

    /// For commands that only read: the namespace must exist and carry the dev label.
    public static func verify(client: KubeClient, name: String) async throws -> DevNamespace {
        try check(name)
        guard let existing = try await current(client: client, name: name) else {
            throw DevNamespaceError.notFound(name: name)
        }
        return try accepted(existing, name: name)
    }

    private static func check(_ name: String) throws {
        if let problem = ConfigSyntax.dns1123Label(name) {
            throw DevNamespaceError.invalidName(name: name, problem: problem)
        }
        if name == "default" || name.hasPrefix("kube-") {
            throw DevNamespaceError.invalidName(
                name: name, problem: "is not a dev namespace (never `default` or `kube-*`)")
        }
    }

    private static func current(client: KubeClient, name: String) async throws -> JSONValue? {
        do {
            return try await client.get("/api/v1/namespaces/" + name)
        } catch let error as KubeClientError where error.statusCode == 404 {
            return nil
        }
    }

    private static func accepted(_ namespace: JSONValue, name: String) throws -> DevNamespace {
        guard namespace[path: "metadata", "labels", DevLoopConfig.devLabel.key]?.string == DevLoopConfig.devLabel.value
        else { throw DevNamespaceError.notLabelled(name: name) }
        if namespace[path: "status", "phase"]?.string == "Terminating" {
            throw DevNamespaceError.terminating(name: name)
        }
        return DevNamespace(name: name, created: false)
    }
}

public enum DevNamespaceError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidName(name: String, problem: String)
    case notLabelled(name: String)
    case notFound(name: String)
    case terminating(name: String)
    /// An object the guarded applier was handed that does not belong in the dev namespace.
    case outside(object: String, detail: String)

    public var description: String {
        let label = "\(DevLoopConfig.devLabel.key)=\(DevLoopConfig.devLabel.value)"
        switch self {
        case .invalidName(let name, let problem): return "namespace `\(name)` \(problem)"
        case .notLabelled(let name):
            return "namespace `\(name)` exists but is not labelled \(label): devloop leaves it untouched; "
                + "pick another namespace, or label it yourself if it really is a dev namespace"
        case .notFound(let name): return "the dev namespace `\(name)` does not exist (run `devloop up` first)"
        case .terminating(let name): return "the dev namespace `\(name)` is being deleted; try again when it is gone"
        case .outside(let object, let detail): return "\(object) \(detail): not applied, nothing was sent"
        }
    }

    /// Bad input (exit 2) rather than a failure at run time.
    public var isBadInput: Bool {
        switch self {
        case .invalidName, .notLabelled, .outside: true
        case .notFound, .terminating: false
        }
    }
}
