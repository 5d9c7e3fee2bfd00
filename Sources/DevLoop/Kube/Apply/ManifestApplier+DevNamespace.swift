extension ManifestApplier {
    /// Applies only into the verified dev namespace: every object must be that Namespace itself or
    /// namespaced and in it (an object without a namespace goes into it). Everything is checked, with
    /// read-only discovery for the kinds' scope, before the first object is sent.
    public func apply(_ objects: [JSONValue], into namespace: DevNamespace, dryRun: Bool = false) async throws
        -> [AppliedObject]
    {
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
            results.append(try await apply(object, dryRun: dryRun))
        }
        return results
    }

    public func apply(_ manifests: DevManifests, into namespace: DevNamespace) async throws -> [AppliedObject] {
        guard manifests.namespace == namespace.name else {
            throw DevNamespaceError.outside(
                object: "the manifests", detail: "were scoped to `\(manifests.namespace)`, not `\(namespace.name)`")
        }
        // The API server's own validation first, as a dry run of every object: one it refuses is bad
        // input located in its manifest, and nothing has been applied yet.
        for object in manifests.objects {
            do {
                _ = try await apply([object.value], into: namespace, dryRun: true)
            } catch KubeClientError.api(let status) where status.isStatus && [400, 422].contains(status.code) {
                let (field, detail) = Self.refusedField(status)
                throw object.error(field: field, "\(object.kind)/\(object.name): the API server refuses it: \(detail)")
            }
        }
        return try await apply(manifests.values, into: namespace)
    }

    /// The field a refusal names, and what it says about it: the first cause with a field, or in a
    /// server-side apply's schema error (which has no causes) the path in its message,
    /// `failed to create typed patch object (…): .spec.replicass: field not declared in schema`.
    static func refusedField(_ status: APIStatusError) -> (field: String, detail: String) {
        if let cause = status.causes.first(where: { !$0.field.isEmpty }) { return (cause.field, cause.message) }
        if let start = status.message.range(of: "): ."),
            let end = status.message.range(of: ": ", range: start.upperBound..<status.message.endIndex)
        {
            return (
                String(status.message[start.upperBound..<end.lowerBound]),
                String(status.message[end.upperBound...])
            )
        }
        return ("", status.message)
    }
}
