import Foundation

/// Strategic merge patch, as `kubectl apply` (client side), `label`, `annotate` and `rollout restart`
/// send it: maps merge, lists of containers, env, ports, volumes... merge by key, other lists are replaced,
/// null deletes, with the directives `$patch` (delete, replace, merge), `$retainKeys`,
/// `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>`.
enum StrategicMerge {
    static func apply(_ patch: JSON, to original: JSON, field: String = "") -> JSON {
        guard case .object(var changes) = patch else { return patch }
        if changes["$patch"] == "replace" {
            changes["$patch"] = nil
            return strip(.object(changes))
        }
        if changes["$patch"] == "delete" { return .null }
        changes["$patch"] = nil
        var fields = original.objectValue ?? [:]
        var orders: [String: [JSON]] = [:]
        for (key, value) in changes {
            if key == "$retainKeys" { continue }
            if key.hasPrefix("$setElementOrder/") {
                orders[String(key.dropFirst("$setElementOrder/".count))] = value.arrayValue ?? []
                continue
            }
            if key.hasPrefix("$deleteFromPrimitiveList/") {
                let target = String(key.dropFirst("$deleteFromPrimitiveList/".count))
                let remove = value.arrayValue ?? []
                if let items = fields[target]?.arrayValue {
                    fields[target] = .array(items.filter { !remove.contains($0) })
                }
                continue
            }
            if value.isNull {
                fields[key] = nil
            } else if case .array(let items) = value {
                fields[key] = mergeList(fields[key]?.arrayValue ?? [], items, field: key)
            } else if case .object = value {
                let merged = apply(value, to: fields[key] ?? [:], field: key)
                fields[key] = merged.isNull ? nil : merged
            } else {
                fields[key] = value
            }
        }
        if let retained = changes["$retainKeys"]?.arrayValue?.compactMap(\.stringValue) {
            fields = fields.filter { retained.contains($0.key) }
        }
        for (key, order) in orders {
            if let items = fields[key]?.arrayValue { fields[key] = reorder(items, order, key) }
        }
        return .object(fields)
    }

    private static func mergeList(_ original: [JSON], _ patch: [JSON], field: String) -> JSON {
        if patch.contains(where: { $0["$patch"] == "replace" }) {
            return .array(patch.filter { $0["$patch"] != "replace" }.map(strip))
        }
        let objects = patch.filter { $0.objectValue != nil }
        guard let keys = AssociativeList.keys(for: field, items: objects), objects.count == patch.count else {
            return .array(patch.map(strip))
        }
        var items = original
        for change in patch {
            let key = AssociativeList.keyValue(change, keys: keys)
            let index = items.firstIndex { AssociativeList.keyValue($0, keys: keys) == key }
            if change["$patch"] == "delete" {
                if let index { items.remove(at: index) }
            } else if let index {
                items[index] = apply(change, to: items[index])
            } else {
                items.append(strip(change))
            }
        }
        return .array(items)
    }

    private static func reorder(_ items: [JSON], _ order: [JSON], _ field: String) -> JSON {
        guard let keys = AssociativeList.keys(for: field, items: items.filter { $0.objectValue != nil }) else {
            return .array(items)
        }
        let rank = order.map { AssociativeList.keyValue($0, keys: keys) }
        return .array(
            items.enumerated().sorted { first, second in
                let a = rank.firstIndex(of: AssociativeList.keyValue(first.element, keys: keys)) ?? Int.max
                let b = rank.firstIndex(of: AssociativeList.keyValue(second.element, keys: keys)) ?? Int.max
                return a == b ? first.offset < second.offset : a < b
            }.map(\.element))
    }

    /// A patch value with its directives removed, for places where it is taken whole.
    static func strip(_ value: JSON) -> JSON {
        switch value {
        case .object(let fields):
            return .object(fields.filter { !$0.key.hasPrefix("$") }.mapValues(strip))
        case .array(let items):
            return .array(items.map(strip))
        default:
            return value
        }
    }
}
