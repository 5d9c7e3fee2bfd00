/// Just enough OpenAPI v3 for kubectl: its validation looks up the PATCH operation of each kind and,
/// finding the `fieldValidation` parameter, leaves validation to the server (no schemas needed).
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
        for resource in resources where resource.verbs.contains("patch") {
            let gvk: JSON = [
                "group": .string(resource.group), "version": .string(resource.version), "kind": .string(resource.kind),
            ]
            let parameters: JSON = .array(
                ["dryRun", "fieldManager", "fieldValidation", "force"].map { name in
                    ["name": .string(name), "in": "query", "schema": ["type": "string"], "uniqueItems": true]
                })
            let operation: JSON = [
                "operationId": .string("patch\(resource.kind)"), "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk, "parameters": parameters,
                "responses": ["200": ["description": "OK"], "201": ["description": "Created"]],
            ]
            let item =
                resource.namespaced
                ? "/\(path)/namespaces/{namespace}/\(resource.name)/{name}" : "/\(path)/\(resource.name)/{name}"
            paths[item] = ["patch": operation]
        }
        return [
            "openapi": "3.0.0", "info": ["title": "Kubernetes", "version": .string(KubeSimInfo.version)],
            "paths": .object(paths), "components": ["schemas": [:]],
        ]
    }
}
