/// OpenAPI v3 as kube-apiserver publishes it, one document per group version: the operations of every
/// served kind (kubectl checks that PATCH and POST take `fieldValidation` before leaving validation to
/// the server) and the published schemas of the kinds (`kubectl explain`).
enum OpenAPI {
    static func index() -> JSON {
        var paths: [String: JSON] = [:]
        for resource in ResourceType.served {
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
        let resources = ResourceType.served.filter { groupVersionPath($0) == path }
        guard !resources.isEmpty else { return nil }
        var paths: [String: JSON] = [:]
        for resource in resources {
            let schema = OpenAPISchemas.schemaName(resource).map { "#/components/schemas/\($0)" }
            for route in routes(resource) {
                var item = paths[route.path] ?? [:]
                item[route.method] = operation(route.action, resource, schema: schema, write: route.write)
                paths[route.path] = item
            }
        }
        return [
            "openapi": "3.0.0", "info": ["title": "Kubernetes", "version": .string(KubeSimInfo.version)],
            "paths": .object(paths), "components": ["schemas": .object(OpenAPISchemas.all)],
        ]
    }

    struct Route {
        var path: String
        var method: String
        var action: String
        var write = false
    }

    /// The operations of a kind, from its verbs: what both OpenAPI versions list.
    static func routes(_ resource: ResourceType) -> [Route] {
        let path = groupVersionPath(resource)
        let base =
            resource.namespaced ? "/\(path)/namespaces/{namespace}/\(resource.name)" : "/\(path)/\(resource.name)"
        return resource.verbs.compactMap { verb in
            switch verb {
            case "list": Route(path: base, method: "get", action: "list")
            case "create": Route(path: base, method: "post", action: "post", write: true)
            case "deletecollection": Route(path: base, method: "delete", action: "deletecollection")
            case "get": Route(path: base + "/{name}", method: "get", action: "get")
            case "update": Route(path: base + "/{name}", method: "put", action: "put", write: true)
            case "patch": Route(path: base + "/{name}", method: "patch", action: "patch", write: true)
            case "delete": Route(path: base + "/{name}", method: "delete", action: "delete")
            default: nil
            }
        }
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
