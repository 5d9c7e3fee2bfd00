/// Server-side field validation against the published schemas: the unknown fields of an object, named
/// as kube-apiserver names them (`spec.template.spec.containers[0].bogus`), for `fieldValidation=Strict`
/// (an error) and `Warn` (a warning each).
enum FieldValidation {
    /// The `fieldValidation` query parameter; `Warn` when absent, as on kube-apiserver.
    enum Mode: String, Sendable {
        case strict = "Strict"
        case warn = "Warn"
        case ignore = "Ignore"

        init(parameter: String?) throws {
            guard let parameter, !parameter.isEmpty else {
                self = .warn
                return
            }
            guard let mode = Mode(rawValue: parameter) else {
                throw APIError.badRequest(
                    "fieldValidation: Unsupported value: \"\(parameter)\": supported values: \"Ignore\", \"Strict\", \"Warn\""
                )
            }
            self = mode
        }
    }

    /// The outcome of checking a body: its unknown fields, and the body without them (what a real
    /// server stores, since its typed objects have nowhere to keep them).
    struct Result: Sendable {
        var unknown: [String]
        var known: JSON
        /// The same fields as structured-merge-diff names them for server-side apply: items of a list
        /// keyed by name as `containers[name="app"]`.
        var unknownInApplyForm: [String] = []
    }

    static func unknownFields(in object: JSON, resource: ResourceType) -> [String] {
        check(object, resource: resource).unknown
    }

    /// `patch`: the body is a merge patch, whose nulls remove fields (an unknown one too) rather than
    /// set them, and whose `$patch`, `$setElementOrder/...` and `$retainKeys` keys (strategic) are
    /// instructions, not fields.
    static func check(_ object: JSON, resource: ResourceType, patch: Bool = false) -> Result {
        guard let name = OpenAPISchemas.schemaName(resource), let schema = OpenAPISchemas.all[name] else {
            return Result(unknown: [], known: object)
        }
        var found = Result(unknown: [], known: .null)
        found.known = walk(object, schema: schema, path: ("", ""), patch: patch, found: &found, depth: 0)
        return found
    }

    /// The answer to a create, replace or merge patch under `Strict`, as kube-apiserver words it.
    static func strictError(_ unknown: [String], resource: ResourceType) -> APIError {
        let version = resource.apiVersion.split(separator: "/").last.map(String.init) ?? resource.apiVersion
        let fields = unknown.map { "unknown field \"\($0)\"" }.joined(separator: ", ")
        return APIError.badRequest(
            "\(resource.kind) in version \"\(version)\" cannot be handled as a \(resource.kind): strict decoding error: \(fields)"
        )
    }

    /// The answer to a server-side apply with unknown fields: structured-merge-diff cannot type the
    /// configuration, so kube-apiserver refuses it whatever `fieldValidation` says.
    static func applyError(_ unknown: [String], resource: ResourceType, namespace: String?, name: String) -> APIError {
        let object = "\(namespace ?? "")/\(name); \(resource.apiVersion), Kind=\(resource.kind)"
        let fields = unknown.map { "\($0): field not declared in schema" }.joined(separator: "\n")
        return APIError.badRequest("failed to create typed patch object (\(object)): \(fields)")
    }

    /// The `Warning` message for an unknown field under `Warn`.
    static func warning(_ field: String) -> String { "unknown field \"\(field)\"" }

    private static func walk(
        _ value: JSON, schema: JSON, path: (plain: String, apply: String), patch: Bool, found: inout Result,
        depth: Int
    ) -> JSON {
        guard depth < 64, let schema = resolved(schema) else { return value }
        if schema["x-kubernetes-preserve-unknown-fields"]?.boolValue == true { return value }
        switch value {
        case .object(let fields):
            let properties = schema["properties"]?.objectValue
            let additional = schema["additionalProperties"]
            guard properties != nil || additional?.objectValue != nil else { return value }
            var known: [String: JSON] = [:]
            for key in fields.keys.sorted() {
                let child = (path.plain.isEmpty ? key : "\(path.plain).\(key)", "\(path.apply).\(key)")
                let field = fields[key]!
                if patch && (key.hasPrefix("$") || field.isNull) {
                    known[key] = field
                } else if let property = properties?[key] {
                    known[key] = walk(
                        field, schema: property, path: child, patch: patch, found: &found, depth: depth + 1)
                } else if let additional, additional.objectValue != nil {
                    known[key] = walk(
                        field, schema: additional, path: child, patch: patch, found: &found, depth: depth + 1
                    )
                } else if properties != nil {
                    found.unknown.append(child.0)
                    found.unknownInApplyForm.append(child.1)
                } else {
                    known[key] = field
                }
            }
            return .object(known)
        case .array(let items):
            guard let itemSchema = schema["items"] else { return value }
            let keys =
                schema["x-kubernetes-list-type"] == "map" ? schema["x-kubernetes-list-map-keys"]?.arrayValue : nil
            return .array(
                items.enumerated().map { index, item in
                    let plain = "\(path.plain)[\(index)]"
                    let apply = keys.map { path.apply + keyedSegment(item, keys: $0) } ?? "\(path.apply)[\(index)]"
                    return walk(
                        item, schema: itemSchema, path: (plain, apply), patch: patch, found: &found, depth: depth + 1)
                })
        default:
            return value
        }
    }

    /// `[name="app"]`, `[containerPort=80,protocol="TCP"]`: an item of a keyed list, as
    /// structured-merge-diff prints it.
    private static func keyedSegment(_ item: JSON, keys: [JSON]) -> String {
        let pairs = keys.compactMap(\.stringValue).compactMap { key -> String? in
            guard let value = item[key] else { return nil }
            return "\(key)=" + (value.stringValue.map { "\"\($0)\"" } ?? value.compactString)
        }
        return "[" + pairs.joined(separator: ",") + "]"
    }

    /// A schema with its `$ref` (or single-entry `allOf`) followed.
    private static func resolved(_ schema: JSON) -> JSON? {
        var current = schema
        for _ in 0..<8 {
            if let reference = current["$ref"]?.stringValue {
                guard let target = OpenAPISchemas.resolve(reference) else { return nil }
                current = target
            } else if let all = current["allOf"]?.arrayValue, all.count == 1 {
                current = all[0]
            } else {
                return current
            }
        }
        return nil
    }
}
