import Foundation

/// The set of fields one manager owns, as server-side apply tracks it in `managedFields` (FieldsV1):
/// paths of `f:field`, `k:{"name":"web"}` (an item of an associative list, by its keys) and `.` (the
/// map or list item itself).
struct FieldSet: Sendable, Equatable {
    var paths: Set<[String]>

    init(paths: Set<[String]> = []) { self.paths = paths }

    /// Fields an object (an apply configuration, or a created object) sets.
    init(of object: JSON) {
        var paths = Set<[String]>()
        Self.collect(object, prefix: [], into: &paths, topLevel: true)
        self.paths = paths
    }

    /// Reads a FieldsV1 tree.
    init(fieldsV1: JSON) {
        var paths = Set<[String]>()
        func walk(_ node: JSON, _ prefix: [String]) {
            let children = node.objectValue ?? [:]
            if children.isEmpty {
                if !prefix.isEmpty { paths.insert(prefix) }
                return
            }
            for (key, child) in children { walk(child, prefix + [key]) }
        }
        walk(fieldsV1, [])
        self.paths = paths
    }

    var fieldsV1: JSON {
        var root: JSON = [:]
        for path in paths {
            var existing = root[path: path] ?? [:]
            if existing.objectValue == nil { existing = [:] }
            root[path: path] = existing
        }
        return root
    }

    /// Paths naming a value (not the `.` markers), for conflict checks.
    var leaves: Set<[String]> { paths.filter { $0.last != "." } }

    var isEmpty: Bool { paths.isEmpty }

    /// Map fields whose entries are owned one by one, with the map itself marked by `.`.
    private static let mapFields: Set<String> = [
        "labels", "annotations", "data", "stringData", "binaryData", "matchLabels", "nodeSelector", "selector",
    ]
    private static let ignoredTopLevel: Set<String> = ["apiVersion", "kind", "status"]
    private static let ignoredMetadata: Set<String> = [
        "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
        "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
    ]

    private static func collect(_ value: JSON, prefix: [String], into paths: inout Set<[String]>, topLevel: Bool) {
        switch value {
        case .object(let fields) where !fields.isEmpty:
            if let last = prefix.last, mapFields.contains(String(last.dropFirst(2))) { paths.insert(prefix + ["."]) }
            for (key, child) in fields {
                if topLevel && ignoredTopLevel.contains(key) { continue }
                if prefix == ["f:metadata"] && ignoredMetadata.contains(key) { continue }
                let path = prefix + ["f:" + key]
                if case .array(let items) = child, let keys = AssociativeList.keys(for: key, items: items) {
                    for item in items {
                        let itemPath = path + [AssociativeList.elementName(item, keys: keys)]
                        paths.insert(itemPath + ["."])
                        collect(item, prefix: itemPath, into: &paths, topLevel: false)
                    }
                } else {
                    collect(child, prefix: path, into: &paths, topLevel: false)
                }
            }
        default:
            if !prefix.isEmpty { paths.insert(prefix) }
        }
    }
}

/// Lists whose items are merged by key (the `+listType=map` lists of the Kubernetes API).
enum AssociativeList {
    static func keys(for field: String, items: [JSON]) -> [String]? {
        guard items.allSatisfy({ $0.objectValue != nil }) else { return nil }
        switch field {
        case "containers", "initContainers", "ephemeralContainers", "volumes", "env", "imagePullSecrets":
            return ["name"]
        case "ports":
            if items.contains(where: { $0["containerPort"] != nil }) { return ["containerPort", "protocol"] }
            return ["port", "protocol"]
        case "volumeMounts": return ["mountPath"]
        case "conditions": return ["type"]
        default: return nil
        }
    }

    /// The key value of an item with defaults filled (`protocol` is TCP unless set).
    static func keyValue(_ item: JSON, keys: [String]) -> JSON {
        var key: [String: JSON] = [:]
        for name in keys {
            if let value = item[name] {
                key[name] = value
            } else if name == "protocol" {
                key[name] = "TCP"
            }
        }
        return .object(key)
    }

    static func elementName(_ item: JSON, keys: [String]) -> String {
        "k:" + keyValue(item, keys: keys).compactString
    }

    static func index(of elementName: String, in items: [JSON], listField: String) -> Int? {
        guard elementName.hasPrefix("k:"), let wanted = try? JSON.parse(Data(elementName.dropFirst(2).utf8)),
            let keys = keys(for: listField, items: items)
        else { return nil }
        return items.firstIndex { keyValue($0, keys: keys) == wanted }
    }
}

extension JSON {
    /// The value at a managed-fields path, nil when absent.
    func value(atFieldPath path: [String]) -> JSON? {
        var node: JSON? = self
        var lastField = ""
        for element in path {
            guard let current = node else { return nil }
            if element == "." { return current }
            if element.hasPrefix("f:") {
                lastField = String(element.dropFirst(2))
                node = current[lastField]
            } else if element.hasPrefix("k:"), let items = current.arrayValue {
                node = AssociativeList.index(of: element, in: items, listField: lastField).map { items[$0] }
            } else {
                return nil
            }
        }
        return node
    }

    /// Removes the value at a managed-fields path (a field, or a list item for a path ending in `.`).
    mutating func removeValue(atFieldPath path: [String]) {
        guard let first = path.first else { return }
        let rest = Array(path.dropFirst())
        if first.hasPrefix("f:") {
            let field = String(first.dropFirst(2))
            if rest.isEmpty || rest == ["."] {
                self[field] = nil
                return
            }
            guard var child = self[field] else { return }
            if let next = rest.first, next.hasPrefix("k:"), var items = child.arrayValue {
                guard let index = AssociativeList.index(of: next, in: items, listField: field) else { return }
                if rest.count == 2 && rest[1] == "." {
                    items.remove(at: index)
                } else {
                    items[index].removeValue(atFieldPath: Array(rest.dropFirst()))
                }
                child = .array(items)
            } else {
                child.removeValue(atFieldPath: rest)
            }
            self[field] = child
        }
    }
}
