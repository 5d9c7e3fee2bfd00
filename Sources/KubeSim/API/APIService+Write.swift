import Foundation

extension APIService {
    /// Server-side apply: (object, created).
    func apply(
        _ resource: ResourceType, namespace: String?, name: String, config: JSON, fieldManager: String?, force: Bool,
        dryRun: Bool = false
    ) async throws -> (JSON, Bool) {
        guard let fieldManager, !fieldManager.isEmpty else {
            throw APIError(
                code: 422, reason: "Invalid",
                message:
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
            )
        }
        guard config.objectValue != nil else { throw APIError.badRequest("the apply configuration is not an object") }
        try checkKind(resource, config)
        if resource != resource.storageVersion {
            let live = await store.get(key(resource, namespace, name))
            let (stored, created) = try await apply(
                resource.storageVersion, namespace: namespace, name: name,
                config: VersionConversion.toStorage(config, resource, live: live), fieldManager: fieldManager,
                force: force, dryRun: dryRun)
            return (VersionConversion.toServed(stored, resource), created)
        }
        guard config["kind"] != nil, config["apiVersion"] != nil else {
            throw APIError.badRequest("invalid object type: apiVersion and kind are required in an apply configuration")
        }
        if !config.name.isEmpty && config.name != name {
            throw APIError.badRequest(
                "the name of the object (\(config.name)) does not match the name on the URL (\(name))")
        }
        var config = config
        config[path: ["metadata", "name"]] = .string(name)
        if resource.subresources.contains("status") { config["status"] = nil }
        let engine = ServerSideApply(
            manager: fieldManager, apiVersion: resource.apiVersion, force: force, now: Timestamps.format(Date()))
        let objectKey = key(resource, namespace, name)
        for _ in 0..<3 {
            if await store.get(objectKey) == nil {
                var object = try prepareNew(resource, namespace: namespace, body: config)
                object[path: ["metadata", "managedFields"]] = ManagedFieldsEntry.write([
                    ManagedFieldsEntry(
                        manager: fieldManager, operation: "Apply", apiVersion: resource.apiVersion, time: engine.now,
                        fields: FieldSet(of: config))
                ])
                try await checkNamespace(resource, object)
                if dryRun { return (object, true) }
                if let stored = await store.insert(objectKey, object) { return (stored, true) }
                continue
            }
            let change: (inout JSON) throws -> Void = { live in
                var updated = try engine.apply(config: config, to: live, resource: resource)
                guard updated != live else { return }
                self.carryOver(from: live, into: &updated, resource: resource, keepStatus: true)
                try Validation.validate(updated, resource: resource)
                live = updated
            }
            if dryRun {
                var live = try await get(resource, namespace: namespace, name: name)
                try change(&live)
                return (live, false)
            }
            if let stored = try await store.modify(objectKey, change) {
                await finishDeletionIfReleased(resource, stored)
                return (stored, false)
            }
        }
        throw APIError.conflict(resource, name, "the object changed while it was being applied")
    }

    /// JSON merge patch (RFC 7386) or strategic merge patch (lists of containers, ports... merged by key).
    func patch(
        _ resource: ResourceType, namespace: String?, name: String, patch: JSON, strategic: Bool, fieldManager: String,
        subresource: String? = nil, dryRun: Bool = false
    ) async throws -> JSON {
        guard patch.objectValue != nil else { throw APIError.badRequest("the patch is not a JSON object") }
        return try await update(
            resource, namespace: namespace, name: name, fieldManager: fieldManager, keepStatus: subresource != "status",
            dryRun: dryRun
        ) { live in
            var patched =
                strategic
                ? StrategicMerge.apply(patch, to: live) : Self.mergePatch(live, patch)
            if subresource == "status" {
                var onlyStatus = live
                onlyStatus["status"] = patched["status"]
                patched = onlyStatus
            }
            return patched
        }
    }

    /// PUT: replaces the object; metadata.resourceVersion must name the current version.
    func replace(
        _ resource: ResourceType, namespace: String?, name: String, body: JSON, fieldManager: String,
        subresource: String? = nil, dryRun: Bool = false
    ) async throws -> JSON {
        guard let version = body[path: ["metadata", "resourceVersion"]]?.stringValue, !version.isEmpty else {
            throw APIError.invalid(
                resource, name,
                [
                    .init(
                        reason: "FieldValueInvalid", message: "Invalid value: 0x0: must be specified for an update",
                        field: "metadata.resourceVersion")
                ])
        }
        if !body.name.isEmpty && body.name != name {
            throw APIError.badRequest(
                "the name of the object (\(body.name)) does not match the name on the URL (\(name))")
        }
        try checkKind(resource, body)
        return try await update(
            resource, namespace: namespace, name: name, fieldManager: fieldManager, keepStatus: subresource != "status",
            dryRun: dryRun
        ) { live in
            guard live[path: ["metadata", "resourceVersion"]]?.stringValue == version else {
                throw APIError.conflict(
                    resource, name,
                    "the object has been modified; please apply your changes to the latest version and try again")
            }
            if subresource == "status" {
                var onlyStatus = live
                onlyStatus["status"] = body["status"]
                return onlyStatus
            }
            var replaced = body
            replaced[path: ["metadata", "managedFields"]] = live[path: ["metadata", "managedFields"]]
            return replaced
        }
    }

    func update(
        _ resource: ResourceType, namespace: String?, name: String, fieldManager: String, keepStatus: Bool,
        dryRun: Bool = false, _ transform: @Sendable @escaping (JSON) throws -> JSON
    ) async throws -> JSON {
        if resource != resource.storageVersion {
            // The transform sees (and writes) the object as the version the request named.
            let stored = try await update(
                resource.storageVersion, namespace: namespace, name: name, fieldManager: fieldManager,
                keepStatus: keepStatus, dryRun: dryRun
            ) { live in
                VersionConversion.toStorage(
                    try transform(VersionConversion.toServed(live, resource)), resource, live: live)
            }
            return VersionConversion.toServed(stored, resource)
        }
        let objectKey = key(resource, namespace, name)
        let change: @Sendable (inout JSON) throws -> Void = { live in
            var updated = try transform(live)
            self.carryOver(from: live, into: &updated, resource: resource, keepStatus: keepStatus)
            try Validation.validate(updated, resource: resource)
            let changed = ManagedFieldsEntry.changedFields(from: live, to: updated)
            ManagedFieldsEntry.recordUpdate(
                manager: fieldManager, apiVersion: resource.apiVersion, time: Timestamps.format(Date()),
                changed: changed,
                in: &updated)
            live = updated
        }
        // dryRun=All: everything a write does (transform, defaults, validation) but storing it.
        if dryRun {
            guard var live = await store.get(objectKey) else { throw APIError.notFound(resource, name) }
            try change(&live)
            return live
        }
        let stored = try await store.modify(objectKey, change)
        guard let stored else { throw APIError.notFound(resource, name) }
        await finishDeletionIfReleased(resource, stored)
        return stored
    }

    /// An object marked for deletion goes once its last finalizer is removed (pods and namespaces are
    /// finished by the kubelet and the namespace controller).
    func finishDeletionIfReleased(_ resource: ResourceType, _ object: JSON) async {
        guard object.isTerminating, resource != .pods, resource != .namespaces,
            (object[path: ["metadata", "finalizers"]]?.arrayValue ?? []).isEmpty
        else { return }
        await store.remove(key(resource, object.namespace, object.name))
    }

    static func mergePatch(_ target: JSON, _ patch: JSON) -> JSON {
        guard case .object(let changes) = patch else { return patch }
        var fields = target.objectValue ?? [:]
        for (key, value) in changes {
            if value.isNull {
                fields[key] = nil
            } else {
                fields[key] = mergePatch(fields[key] ?? .null, value)
            }
        }
        return .object(fields)
    }
}
