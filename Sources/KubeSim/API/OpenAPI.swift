/// OpenAPI v3 as kube-apiserver publishes it, one document per group version: the operations of every
/// served kind (kubectl checks that PATCH and POST take `fieldValidation` before leaving validation to
/// the server) and the published schemas of the kinds (`kubectl explain`).
enum OpenAPI {
    static func index() -> JSON {
        var paths: [String: JSON] = [:]
        for resource in ResourceType.all {
            let path = groupVersionPath(resource)
            paths[path] = ["serverRelativeURL": .string("/openapi/v3/\(path)?hash=\(KubeSimInfo.version)")]
        }
        return ["paths": .object(paths)]
    }

    static func groupVersionPath(_ resource: ResourceType) -> String {
        resource.group.isEmpty ? "api/\(resource.version)" : "apis/\(resource.group)/\(resource.version)"
    }

    /// The document of one group version, nil when kubesim does not serve it.
    static func document(_ path: String) -> JSON? {
        let resources = ResourceType.all.filter { groupVersionPath($0) == path }
        guard !resources.isEmpty else { return nil }
        var paths: [String: JSON] = [:]
        for resource in resources {
            let base =
                resource.namespaced ? "/\(path)/namespaces/{namespace}/\(resource.name)" : "/\(path)/\(resource.name)"
            let schema = OpenAPISchemas.schemaName(resource).map { "#/components/schemas/\($0)" }
            var collection: [String: JSON] = [:]
            var item: [String: JSON] = [:]
            for verb in resource.verbs {
                switch verb {
                case "list": collection["get"] = operation("list", resource, schema: nil)
                case "create": collection["post"] = operation("post", resource, schema: schema, write: true)
                case "deletecollection": collection["delete"] = operation("deletecollection", resource, schema: nil)
                case "get": item["get"] = operation("get", resource, schema: schema)
                case "update": item["put"] = operation("put", resource, schema: schema, write: true)
                case "patch": item["patch"] = operation("patch", resource, schema: schema, write: true)
                case "delete": item["delete"] = operation("delete", resource, schema: nil)
                default: break
                }
            }
            if !collection.isEmpty { paths[base] = .object(collection) }
            if !item.isEmpty { paths[base + "/{name}"] = .object(item) }
        }
        return [
            "openapi": "3.0.0", "info": ["title": "Kubernetes", "version": .string(KubeSimInfo.version)],
            "paths": .object(paths), "components": ["schemas": .object(OpenAPISchemas.all)],
        ]
    }

    private static func operation(_ action: String, _ resource: ResourceType, schema: String?, write: Bool = false)
        -> JSON
    {
        let gvk: JSON = [
            "group": .string(resource.group), "version": .string(resource.version), "kind": .string(resource.kind),
        ]
        let names = write ? ["dryRun", "fieldManager", "fieldValidation"] + (action == "patch" ? ["force"] : []) : []
        let parameters: JSON = .array(
            names.map { name in
                ["name": .string(name), "in": "query", "schema": ["type": "string"], "uniqueItems": true]
            })
        var response: JSON = ["description": "OK"]
        if let schema { response["content"] = ["application/json": ["schema": ["$ref": .string(schema)]]] }
        var operation: JSON = [
            "operationId": .string(action + resource.kind), "x-kubernetes-action": .string(action),
            "x-kubernetes-group-version-kind": gvk, "parameters": parameters,
            "responses": ["200": response, "201": response],
        ]
        if write, let schema {
            let content: JSON = ["schema": ["$ref": .string(schema)]]
            operation["requestBody"] = ["content": ["*/*": content], "required": true]
        }
        return operation
    }
}
