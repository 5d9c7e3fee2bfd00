/// Server-side field validation against the published schemas: the unknown fields of an object, named
/// as kube-apiserver names them (`spec.template.spec.containers[0].bogus`), for `fieldValidation=Strict`
/// (an error) and `Warn` (a warning each).
enum FieldValidation {
    static func unknownFields(in object: JSON, resource: ResourceType) -> [String] {
        guard let name = OpenAPISchemas.schemaName(resource), let schema = OpenAPISchemas.all[name] else { return [] }
        var found: [String] = []
        walk(object, schema: schema, path: "", found: &found, depth: 0)
        return found
    }

    private static func walk(_ value: JSON, schema: JSON, path: String, found: inout [String], depth: Int) {
        guard depth < 64, let schema = resolved(schema) else { return }
        if schema["x-kubernetes-preserve-unknown-fields"]?.boolValue == true { return }
        switch value {
        case .object(let fields):
            let properties = schema["properties"]?.objectValue
            let additional = schema["additionalProperties"]
            guard properties != nil || additional?.objectValue != nil else { return }
            for key in fields.keys.sorted() {
                let child = path.isEmpty ? key : "\(path).\(key)"
                if let property = properties?[key] {
                    walk(fields[key]!, schema: property, path: child, found: &found, depth: depth + 1)
                } else if let additional, additional.objectValue != nil {
                    walk(fields[key]!, schema: additional, path: child, found: &found, depth: depth + 1)
                } else if properties != nil {
                    found.append(child)
                }
            }
        case .array(let items):
            guard let itemSchema = schema["items"] else { return }
            for (index, item) in items.enumerated() {
                walk(item, schema: itemSchema, path: "\(path)[\(index)]", found: &found, depth: depth + 1)
            }
        default:
            return
        }
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
