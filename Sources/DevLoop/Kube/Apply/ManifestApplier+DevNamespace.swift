extension ManifestApplier {
    /// Applies only into the verified dev namespace: every object must be that Namespace itself or
    /// namespaced and in it (an object without a namespace goes into it). Everything is checked, with
    /// read-only discovery for the kinds' scope, before the first object is sent.
    public func apply(_ objects: [JSONValue], into namespace: DevNamespace) async throws -> [AppliedObject] {
        var scoped: [JSONValue] = []
        for object in objects {
            let kind = object["kind"]?.string ?? ""
            let name = object[path: "metadata", "name"]?.string ?? ""
            let label = "\(kind)/\(name)"
            let type = try await resolver.resolve(apiVersion: object["apiVersion"]?.string ?? "", kind: kind)
            if !type.namespaced {
                guard kind == "Namespace", type.apiVersion == "v1", name == namespace.name else {
                    throw DevNamespaceError.outside(object: label, detail: "is cluster-scoped")
                }
                scoped.append(object)
                continue
            }
            let declared = object[path: "metadata", "namespace"]?.string ?? namespace.name
            guard declared == namespace.name else {
                throw DevNamespaceError.outside(
                    object: label, detail: "is in namespace `\(declared)`, not `\(namespace.name)`")
            }
            scoped.append(ManifestScope.setting(object, namespace: namespace.name))
        }
        var results: [AppliedObject] = []
        for object in scoped.filter({ $0["kind"]?.string == "Namespace" })
            + scoped.filter({ $0["kind"]?.string != "Namespace" })
        {
            results.append(try await apply(object))
        }
        return results
    }

    public func apply(_ manifests: DevManifests, into namespace: DevNamespace) async throws -> [AppliedObject] {
        guard manifests.namespace == namespace.name else {
            throw DevNamespaceError.outside(
                object: "the manifests", detail: "were scoped to `\(manifests.namespace)`, not `\(namespace.name)`")
        }
        return try await apply(manifests.values, into: namespace)
    }
}
