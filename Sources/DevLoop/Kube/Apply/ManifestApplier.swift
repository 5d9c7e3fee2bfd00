import Foundation

public enum ManifestError: Error, Sendable, CustomStringConvertible, Equatable {
    case invalid(source: String, document: Int, detail: String)
    case unknownKind(kind: String, apiVersion: String)

    public var description: String {
        switch self {
        case .invalid(let source, let document, let detail):
            return "\(source), document \(document): \(detail)"
        case .unknownKind(let kind, let apiVersion):
            return "the API server does not serve kind \(kind) in \(apiVersion) (is its CRD installed?)"
        }
    }
}

/// What applying one object did, as kubectl reports it.
public struct AppliedObject: Sendable, Equatable, CustomStringConvertible {
    public enum Outcome: String, Sendable { case created, configured, unchanged }

    public var kind: String
    public var name: String
    public var namespace: String?
    public var outcome: Outcome

    public var description: String { "\(kind.lowercased())/\(name) \(outcome.rawValue)" }
}

/// Server-side apply (field manager `devloop`) of every document of a multi-document YAML file,
/// Namespaces first so that the objects inside them can be created in the same run.
public struct ManifestApplier: Sendable {
    public static let fieldManager = "devloop"
    public let client: KubeClient
    let resolver: ResourceResolver

    public init(client: KubeClient) {
        self.client = client
        self.resolver = ResourceResolver(client: client)
    }

    /// Parses everything before applying anything: a bad document leaves the cluster untouched.
    public static func documents(_ yaml: String, source: String) throws -> [JSONValue] {
        let documents: [JSONValue]
        do {
            documents = try YAMLDocuments.parse(yaml)
        } catch {
            throw ManifestError.invalid(source: source, document: 1, detail: YAMLErrorDescription.of(error))
        }
        if documents.isEmpty { throw ManifestError.invalid(source: source, document: 1, detail: "contains no objects") }
        for (index, document) in documents.enumerated() {
            let missing = ["apiVersion", "kind"].filter { document[$0]?.string?.isEmpty ?? true }
            let name = document[path: "metadata", "name"]?.string ?? ""
            if !missing.isEmpty || name.isEmpty {
                let fields = missing + (name.isEmpty ? ["metadata.name"] : [])
                throw ManifestError.invalid(
                    source: source, document: index + 1, detail: "missing \(fields.joined(separator: ", "))")
            }
        }
        return documents.enumerated().sorted { a, b in
            let (aNamespace, bNamespace) = (
                a.element["kind"]?.string == "Namespace", b.element["kind"]?.string == "Namespace"
            )
            return aNamespace != bNamespace ? aNamespace : a.offset < b.offset
        }.map(\.element)
    }

    public func apply(yaml: String, source: String = "manifest") async throws -> [AppliedObject] {
        var results: [AppliedObject] = []
        for document in try Self.documents(yaml, source: source) {
            results.append(try await apply(document))
        }
        return results
    }

    public func apply(_ object: JSONValue) async throws -> AppliedObject {
        let apiVersion = object["apiVersion"]?.string ?? ""
        let kind = object["kind"]?.string ?? ""
        let name = object[path: "metadata", "name"]?.string ?? ""
        let type = try await resolver.resolve(apiVersion: apiVersion, kind: kind)
        var body = object
        var namespace: String?
        if type.namespaced {
            namespace = object[path: "metadata", "namespace"]?.string ?? client.config.namespace
            if case .object(var fields) = body, case .object(var metadata)? = fields["metadata"] {
                metadata["namespace"] = .string(namespace!)
                fields["metadata"] = .object(metadata)
                body = .object(fields)
            }
        }
        let path = type.collectionPath(namespace: namespace) + "/" + QueryEncoding.escape(name)
        let before = try await current(path)
        let response = try await client.send(
            "PATCH", path, query: [("fieldManager", Self.fieldManager), ("force", "true")], body: try body.encoded(),
            contentType: "application/apply-patch+yaml")
        let after = try JSONValue.decode(response.body)
        let outcome: AppliedObject.Outcome =
            before == nil ? .created : (Self.sameDesiredState(before!, after) ? .unchanged : .configured)
        return AppliedObject(kind: kind, name: name, namespace: namespace, outcome: outcome)
    }

    private func current(_ path: String) async throws -> JSONValue? {
        do {
            return try await client.get(path)
        } catch let error as KubeClientError where error.statusCode == 404 {
            return nil
        }
    }

    /// Whether an apply changed what the user declares. The resourceVersion alone is not enough:
    /// controllers write status between our read and our apply (a Deployment rolling out) without
    /// touching the spec, whose changes show in metadata.generation.
    static func sameDesiredState(_ before: JSONValue, _ after: JSONValue) -> Bool {
        if before[path: "metadata", "resourceVersion"] == after[path: "metadata", "resourceVersion"] { return true }
        guard let generation = before[path: "metadata", "generation"],
            generation == after[path: "metadata", "generation"]
        else { return false }
        return ["labels", "annotations", "ownerReferences", "finalizers"].allSatisfy {
            before[path: "metadata", $0] == after[path: "metadata", $0]
        }
    }
}
