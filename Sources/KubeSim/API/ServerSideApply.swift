import Foundation

/// Server-side apply: merges an apply configuration into the live object, tracks which manager owns
/// which field in `metadata.managedFields`, and refuses (409) to take a field another manager set to a
/// different value unless forced.
struct ServerSideApply {
    struct Conflict: Sendable, Equatable {
        var manager: String
        var path: [String]
    }

    var manager: String
    var apiVersion: String
    var force: Bool
    var now: String

    /// The object after applying `config` to `live` (nil when the object does not exist yet).
    func apply(config: JSON, to live: JSON?, resource: ResourceType) throws -> JSON {
        let base = live ?? [:]
        let appliedSet = FieldSet(of: config)
        var entries = ManagedFieldsEntry.read(base)
        let conflicts = Self.conflicts(appliedSet, config, base, entries, except: manager)
        if !conflicts.isEmpty && !force {
            throw Self.conflictError(conflicts, resource: resource, name: config.name)
        }
        // Forced: the other managers lose the fields taken from them.
        for conflict in conflicts {
            for index in entries.indices where entries[index].manager == conflict.manager {
                entries[index].fields.paths.remove(conflict.path)
            }
        }
        var merged = base
        // Fields this manager applied before and no longer applies go away, unless someone else owns them.
        let previous = entries.first { $0.manager == manager && $0.operation == "Apply" }?.fields ?? FieldSet()
        let ownedByOthers = entries.filter { !($0.manager == manager && $0.operation == "Apply") }
            .reduce(into: Set<[String]>()) { $0.formUnion($1.fields.paths) }
        for path in previous.paths.subtracting(appliedSet.paths).sorted(by: { $0.count > $1.count })
        where !ownedByOthers.contains(where: { $0.starts(with: path.last == "." ? path.dropLast() : path[...]) }) {
            merged.removeValue(atFieldPath: path)
        }
        merged = Self.merge(merged, config, field: "")
        entries.removeAll { $0.manager == manager && $0.operation == "Apply" }
        entries.append(
            ManagedFieldsEntry(
                manager: manager, operation: "Apply", apiVersion: apiVersion, time: now, fields: appliedSet))
        // An unchanged apply leaves the object, its timestamps included, exactly as it was.
        if let live, previous == appliedSet, Self.stripManaged(merged) == Self.stripManaged(live) { return live }
        merged[path: ["metadata", "managedFields"]] = ManagedFieldsEntry.write(entries.filter { !$0.fields.isEmpty })
        return merged
    }

    static func stripManaged(_ object: JSON) -> JSON {
        var copy = object
        copy[path: ["metadata", "managedFields"]] = nil
        return copy
    }

    static func conflicts(
        _ applied: FieldSet, _ config: JSON, _ live: JSON, _ entries: [ManagedFieldsEntry],
        except manager: String
    ) -> [Conflict] {
        var conflicts: [Conflict] = []
        for entry in entries where entry.manager != manager || entry.operation != "Apply" {
            for path in applied.leaves.intersection(entry.fields.leaves).sorted(by: { $0.lexicographicallyPrecedes($1) }
            )
            where config.value(atFieldPath: path) != live.value(atFieldPath: path) {
                conflicts.append(Conflict(manager: entry.manager, path: path))
            }
        }
        return conflicts
    }

    static func conflictError(_ conflicts: [Conflict], resource: ResourceType, name: String) -> APIError {
        let causes = conflicts.map { conflict in
            APIError.Cause(
                reason: "FieldManagerConflict",
                message: "conflict with \"\(conflict.manager)\" using \(resource.apiVersion)",
                field: displayPath(conflict.path))
        }
        let summary = causes.map { "- \($0.message): \($0.field ?? "")" }.joined(separator: "\n")
        let plural = conflicts.count == 1 ? "conflict" : "conflicts"
        return APIError(
            code: 409, reason: "Conflict", message: "Apply failed with \(conflicts.count) \(plural): \(summary)",
            details: APIError.details(name: name, group: resource.group, kind: resource.name, causes: causes))
    }

    /// `.spec.template.spec.containers[name="web"].image`, as kube-apiserver prints a field path.
    static func displayPath(_ path: [String]) -> String {
        path.map { element -> String in
            if element.hasPrefix("f:") { return "." + element.dropFirst(2) }
            if element.hasPrefix("k:"), let key = try? JSON.parse(Data(element.dropFirst(2).utf8)).objectValue {
                return "["
                    + key.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.compactString)" }
                    .joined(separator: ",") + "]"
            }
            return ""
        }.joined()
    }

    /// Deep merge: maps merge, associative lists merge by key, everything else is replaced; null deletes.
    static func merge(_ live: JSON, _ config: JSON, field: String) -> JSON {
        switch (live, config) {
        case (.object(var fields), .object(let changes)):
            for (key, value) in changes {
                if value.isNull {
                    fields[key] = nil
                } else if let current = fields[key] {
                    fields[key] = merge(current, value, field: key)
                } else {
                    fields[key] = merge(.null, value, field: key)
                }
            }
            return .object(fields)
        case (.array(var items), .array(let changes)):
            guard let keys = AssociativeList.keys(for: field, items: changes),
                AssociativeList.keys(for: field, items: items) != nil
            else { return config }
            for change in changes {
                let key = AssociativeList.keyValue(change, keys: keys)
                if let index = items.firstIndex(where: { AssociativeList.keyValue($0, keys: keys) == key }) {
                    items[index] = merge(items[index], change, field: "")
                } else {
                    items.append(merge(.null, change, field: ""))
                }
            }
            return .array(items)
        case (_, .object(let changes)):
            return merge(.object([:]), .object(changes), field: field)
        default:
            return config
        }
    }
}

/// One entry of `metadata.managedFields`.
struct ManagedFieldsEntry: Sendable, Equatable {
    var manager: String
    var operation: String
    var apiVersion: String
    var time: String
    var fields: FieldSet
    var subresource: String?

    static func read(_ object: JSON) -> [ManagedFieldsEntry] {
        (object[path: ["metadata", "managedFields"]]?.arrayValue ?? []).map { entry in
            ManagedFieldsEntry(
                manager: entry["manager"]?.stringValue ?? "", operation: entry["operation"]?.stringValue ?? "Update",
                apiVersion: entry["apiVersion"]?.stringValue ?? "", time: entry["time"]?.stringValue ?? "",
                fields: FieldSet(fieldsV1: entry["fieldsV1"] ?? [:]), subresource: entry["subresource"]?.stringValue)
        }
    }

    static func write(_ entries: [ManagedFieldsEntry]) -> JSON {
        .array(
            entries.map { entry in
                var json: JSON = [
                    "manager": .string(entry.manager), "operation": .string(entry.operation),
                    "apiVersion": .string(entry.apiVersion), "time": .string(entry.time), "fieldsType": "FieldsV1",
                    "fieldsV1": entry.fields.fieldsV1,
                ]
                if let subresource = entry.subresource { json["subresource"] = .string(subresource) }
                return json
            })
    }

    /// Records an Update (create, patch, replace) by `manager`: it now owns the fields it changed, and
    /// nobody else does.
    static func recordUpdate(
        manager: String, apiVersion: String, time: String, changed: FieldSet, in object: inout JSON
    ) {
        guard !changed.isEmpty else { return }
        var entries = read(object)
        for index in entries.indices where !(entries[index].manager == manager && entries[index].operation == "Update")
        {
            entries[index].fields.paths.subtract(changed.leaves)
        }
        if let index = entries.firstIndex(where: { $0.manager == manager && $0.operation == "Update" }) {
            entries[index].fields.paths.formUnion(changed.paths)
            entries[index].time = time
        } else {
            entries.append(
                ManagedFieldsEntry(
                    manager: manager, operation: "Update", apiVersion: apiVersion, time: time, fields: changed))
        }
        object[path: ["metadata", "managedFields"]] = write(entries.filter { !$0.fields.isEmpty })
    }

    /// The fields whose values differ between two versions of an object.
    static func changedFields(from old: JSON, to new: JSON) -> FieldSet {
        let newFields = FieldSet(of: new)
        return FieldSet(
            paths: newFields.paths.filter { path in
                path.last == "."
                    ? old.value(atFieldPath: path) == nil : old.value(atFieldPath: path) != new.value(atFieldPath: path)
            })
    }
}
