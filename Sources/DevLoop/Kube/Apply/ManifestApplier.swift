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

    /// `dryRun`: the API server checks and answers the apply without storing anything (`dryRun=All`).
    public func apply(_ object: JSONValue, dryRun: Bool = false) async throws -> AppliedObject {
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
            "PATCH", path,
            query: [("fieldManager", Self.fieldManager), ("force", "true")] + (dryRun ? [("dryRun", "All")] : []),
            body: try body.encoded(),
            contentType: "application/apply-patch+yaml")
        let after = try KubeClient.decodeKubernetesJSON(response, "PATCH", path)
        let outcome: AppliedObject.Outcome =
            before == nil ? .created : (Self.sameDesiredState(before!, after, applied: body) ? .unchanged : .configured)
        return AppliedObject(kind: kind, name: name, namespace: namespace, outcome: outcome)
    }

    private func current(_ path: String) async throws -> JSONValue? {
        do {
            return try await client.get(path)
        } catch let error as KubeClientError where error.statusCode == 404 {
            return nil
        }
    }

    /// Whether an apply changed what the user declares: the applied fields read the same in the object
    /// before and after. Versions cannot tell: a 1.25 API server bumps a Namespace's resourceVersion on a
    /// no-op apply and keeps no managedFields for it, and controllers write status in between (a
    /// Deployment rolling out) without touching what was applied. Labels and annotations are compared
    /// whole, so that one removed from the manifest (and so from the object) counts as a change.
    static func sameDesiredState(_ before: JSONValue, _ after: JSONValue, applied: JSONValue) -> Bool {
        if before[path: "metadata", "resourceVersion"] == after[path: "metadata", "resourceVersion"] { return true }
        let whole = ["labels", "annotations"].allSatisfy { before[path: "metadata", $0] == after[path: "metadata", $0] }
        return whole && AppliedFields.project(before, onto: applied) == AppliedFields.project(after, onto: applied)
    }
}

/// The part of a live object that a manifest sets.
enum AppliedFields {
    /// Server-managed metadata that changes on every write and was never the user's to set.
    static let ignoredMetadata: Set<String> = [
        "resourceVersion", "generation", "managedFields", "uid", "creationTimestamp",
    ]

    /// `live` cut down to the keys `applied` has, recursively; list elements pair up by position (server-
    /// side apply keeps the manifest's order), and a list whose length differs is kept whole.
    static func project(_ live: JSONValue?, onto applied: JSONValue, top: Bool = true) -> JSONValue? {
        guard let live else { return nil }
        switch (live, applied) {
        case (.object(let fields), .object(let wanted)):
            var kept: [String: JSONValue] = [:]
            for (key, value) in wanted where !(top && key == "status") {
                if top, key == "metadata", case .object(var metadata) = value {
                    for ignored in ignoredMetadata { metadata[ignored] = nil }
                    kept[key] = project(fields[key], onto: .object(metadata), top: false) ?? .null
                } else {
                    kept[key] = project(fields[key], onto: value, top: false) ?? .null
                }
            }
            return .object(kept)
        case (.array(let items), .array(let wanted)) where items.count == wanted.count:
            return .array(zip(items, wanted).map { project($0, onto: $1, top: false) ?? .null })
        default:
            return live
        }
    }
}
