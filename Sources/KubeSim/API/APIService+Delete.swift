import Foundation

extension APIService {
    /// Deletes as kube-apiserver does: pods and namespaces (and objects with finalizers or a foreground
    /// deletion) are only marked, with `deletionTimestamp`, and the kubelet or a controller finishes the
    /// job; everything else goes at once. Returns the response body and its HTTP code.
    func delete(_ resource: ResourceType, namespace: String?, name: String, options: DeleteOptions) async throws -> (
        JSON, Int
    ) {
        if resource != resource.storageVersion {
            let (result, code) = try await delete(
                resource.storageVersion, namespace: namespace, name: name, options: options)
            return (result["kind"] == "Status" ? result : VersionConversion.toServed(result, resource), code)
        }
        let objectKey = key(resource, namespace, name)
        guard let live = await store.get(objectKey) else { throw APIError.notFound(resource, name) }
        if let uid = options.preconditionUID, uid != live.uid {
            throw APIError.conflict(
                resource, name,
                "Precondition failed: UID in precondition: \(uid), UID in object meta: \(live.uid)")
        }
        if let version = options.preconditionResourceVersion,
            version != live[path: ["metadata", "resourceVersion"]]?.stringValue
        {
            throw APIError.conflict(
                resource, name,
                "the object has been modified; please apply your changes to the latest version and try again")
        }
        if options.dryRun { return (live, 200) }
        let now = Date()
        switch resource {
        case .namespaces:
            let marked = await store.modify(objectKey) { object in
                guard !object.isTerminating else { return }
                object[path: ["metadata", "deletionTimestamp"]] = .string(Timestamps.format(now))
                object[path: ["metadata", "deletionGracePeriodSeconds"]] = 0
                object[path: ["status", "phase"]] = "Terminating"
            }
            return (marked ?? live, 200)
        case .pods:
            let grace =
                options.gracePeriodSeconds ?? live[path: ["spec", "terminationGracePeriodSeconds"]]?.intValue ?? 30
            let neverRan = live[path: ["spec", "nodeName"]] == nil
            if grace <= 0 || neverRan {
                await store.remove(objectKey)
                return (live, 200)
            }
            let marked = await store.modify(objectKey) { object in
                let current = object[path: ["metadata", "deletionGracePeriodSeconds"]]?.intValue ?? Int.max
                guard grace < current else { return }
                object[path: ["metadata", "deletionTimestamp"]] = .string(
                    Timestamps.format(now.addingTimeInterval(Double(grace))))
                object[path: ["metadata", "deletionGracePeriodSeconds"]] = .int(Int64(grace))
            }
            return (marked ?? live, 200)
        default:
            let policy = options.propagationPolicy ?? .background
            var finalizers = (live[path: ["metadata", "finalizers"]]?.arrayValue ?? []).compactMap(\.stringValue)
            if policy == .foreground && !finalizers.contains("foregroundDeletion") {
                finalizers.append("foregroundDeletion")
            }
            if policy == .orphan { await orphanDependents(of: live) }
            if !finalizers.isEmpty {
                let marked = await store.modify(objectKey) { object in
                    guard !object.isTerminating else { return }
                    object[path: ["metadata", "deletionTimestamp"]] = .string(Timestamps.format(now))
                    object[path: ["metadata", "deletionGracePeriodSeconds"]] = 0
                    object[path: ["metadata", "finalizers"]] = .array(finalizers.map { .string($0) })
                }
                return (marked ?? live, 200)
            }
            await store.remove(objectKey)
            return (Self.success(resource, live), 200)
        }
    }

    static func success(_ resource: ResourceType, _ object: JSON) -> JSON {
        var details = APIError.details(name: object.name, group: resource.group, kind: resource.name)
        details["uid"] = .string(object.uid)
        return [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "details": details,
        ]
    }

    /// Orphan propagation: dependents lose their owner reference to `owner` and stay.
    private func orphanDependents(of owner: JSON) async {
        for resource in ResourceType.stored where resource.namespaced {
            for item in await store.list(resource, namespace: owner.namespace).items
            where item.ownerReferences.contains(where: { $0["uid"]?.stringValue == owner.uid }) {
                await store.modify(key(resource, item.namespace, item.name)) { object in
                    let remaining = object.ownerReferences.filter { $0["uid"]?.stringValue != owner.uid }
                    object[path: ["metadata", "ownerReferences"]] = remaining.isEmpty ? nil : .array(remaining)
                }
            }
        }
    }
}
