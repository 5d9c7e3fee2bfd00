import Foundation

/// OpenAPI v2 (swagger 2.0) as kube-apiserver publishes it at `/openapi/v2`: one document with the
/// operations of every served kind and the same published schemas as v3, under `definitions`.
/// `kubectl explain --output=plaintext-openapiv2` and client-go's `OpenAPISchema()` read it (as
/// gnostic protobuf, see `GnosticEncoder`).
enum OpenAPIv2 {
    static let document: JSON = build()
    static let protobuf: Data = GnosticEncoder.document(document)

    private static func build() -> JSON {
        var paths: [String: JSON] = [:]
        for resource in ResourceType.served {
            let schema = OpenAPISchemas.schemaName(resource).map { "#/definitions/\($0)" }
            for route in OpenAPI.routes(resource) {
                var item = paths[route.path] ?? [:]
                item[route.method] = operation(route.action, resource, schema: schema, write: route.write)
                paths[route.path] = item
            }
        }
        var definitions: [String: JSON] = [:]
        for (name, schema) in OpenAPISchemas.all { definitions[name] = swagger(schema) }
        // v3's union of string and number; v2 publishes a Quantity as a string.
        if var quantity = definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"] {
            quantity["oneOf"] = nil
            quantity["type"] = "string"
            definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"] = quantity
        }
        return [
            "swagger": "2.0", "info": ["title": "Kubernetes", "version": .string(KubeSimInfo.version)],
            "paths": .object(paths), "definitions": .object(definitions),
        ]
    }

    /// `#/components/schemas/NAME` → `#/definitions/NAME`, everywhere in a schema.
    private static func swagger(_ node: JSON) -> JSON {
        switch node {
        case .object(let fields):
            var result: [String: JSON] = [:]
            for (key, value) in fields {
                if key == "$ref", let reference = value.stringValue {
                    result[key] = .string(
                        reference.replacingOccurrences(of: "#/components/schemas/", with: "#/definitions/"))
                } else {
                    result[key] = swagger(value)
                }
            }
            return .object(result)
        case .array(let items): return .array(items.map(swagger))
        default: return node
        }
    }

    private static func operation(_ action: String, _ resource: ResourceType, schema: String?, write: Bool) -> JSON {
        let gvk: JSON = [
            "group": .string(resource.group), "version": .string(resource.version), "kind": .string(resource.kind),
        ]
        var parameters: [JSON] = []
        if write {
            let names = ["dryRun", "fieldManager", "fieldValidation"] + (action == "patch" ? ["force"] : [])
            parameters = names.map { ["name": .string($0), "in": "query", "type": "string", "uniqueItems": true] }
            if let schema {
                parameters.append(["name": "body", "in": "body", "required": true, "schema": ["$ref": .string(schema)]])
            }
        }
        var response: JSON = ["description": "OK"]
        if let schema { response["schema"] = ["$ref": .string(schema)] }
        return [
            "operationId": .string(action + resource.kind), "x-kubernetes-action": .string(action),
            "x-kubernetes-group-version-kind": gvk, "parameters": .array(parameters),
            "consumes": ["*/*"], "produces": ["application/json", "application/yaml"], "schemes": ["https"],
            "responses": ["200": response],
        ]
    }
}
