import Foundation

/// RFC 6902 JSON patch (add, replace, remove, test; copy and move too), applied to a live object.
enum JSONPatch {
    static func apply(_ operations: JSON, to document: JSON) throws -> JSON {
        guard let list = operations.arrayValue else { throw APIError.badRequest("a JSON patch must be a list") }
        var result = document
        for operation in list {
            let op = operation["op"]?.stringValue ?? ""
            let path = try pointer(operation["path"]?.stringValue)
            switch op {
            case "add", "replace":
                guard let value = operation["value"] else { throw APIError.badRequest("\(op) operation needs a value") }
                try set(&result, path, value, insert: op == "add")
            case "remove":
                try remove(&result, path)
            case "test":
                guard get(result, path) == operation["value"] else {
                    throw APIError(
                        code: 422, reason: "Invalid",
                        message: "the test operation at \(operation["path"]?.stringValue ?? "") failed")
                }
            case "copy", "move":
                let from = try pointer(operation["from"]?.stringValue)
                guard let value = get(result, from) else { throw APIError.badRequest("\(op): no value at 'from'") }
                if op == "move" { try remove(&result, from) }
                try set(&result, path, value, insert: true)
            default:
                throw APIError.badRequest("unknown JSON patch operation \"\(op)\"")
            }
        }
        return result
    }

    private static func pointer(_ text: String?) throws -> [String] {
        guard let text, text.isEmpty || text.hasPrefix("/") else { throw APIError.badRequest("invalid JSON pointer") }
        return text.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func get(_ node: JSON, _ path: [String]) -> JSON? {
        guard let first = path.first else { return node }
        let rest = Array(path.dropFirst())
        if let items = node.arrayValue, let index = Int(first), items.indices.contains(index) {
            return get(items[index], rest)
        }
        return node[first].flatMap { get($0, rest) }
    }

    private static func set(_ node: inout JSON, _ path: [String], _ value: JSON, insert: Bool) throws {
        guard let first = path.first else {
            node = value
            return
        }
        let rest = Array(path.dropFirst())
        if var items = node.arrayValue {
            let index = first == "-" ? items.count : Int(first) ?? -1
            guard index >= 0, index <= items.count else { throw APIError.badRequest("index \(first) out of range") }
            if rest.isEmpty {
                if insert { items.insert(value, at: index) } else if index < items.count { items[index] = value }
            } else {
                guard index < items.count else { throw APIError.badRequest("index \(first) out of range") }
                try set(&items[index], rest, value, insert: insert)
            }
            node = .array(items)
            return
        }
        guard node.objectValue != nil else {
            throw APIError.badRequest("path /\(path.joined(separator: "/")) not found")
        }
        if rest.isEmpty {
            node[first] = value
        } else {
            guard var child = node[first] else { throw APIError.badRequest("path element \(first) not found") }
            try set(&child, rest, value, insert: insert)
            node[first] = child
        }
    }

    private static func remove(_ node: inout JSON, _ path: [String]) throws {
        guard let first = path.first else { return }
        let rest = Array(path.dropFirst())
        if var items = node.arrayValue, let index = Int(first), items.indices.contains(index) {
            if rest.isEmpty { items.remove(at: index) } else { try remove(&items[index], rest) }
            node = .array(items)
        } else if var child = node[first] {
            if rest.isEmpty {
                node[first] = nil
            } else {
                try remove(&child, rest)
                node[first] = child
            }
        } else {
            throw APIError.badRequest("unable to remove nonexistent key: \(first)")
        }
    }
}

extension APIService {
    func jsonPatch(
        _ resource: ResourceType, namespace: String?, name: String, operations: JSON, fieldManager: String,
        dryRun: Bool = false, keepOnly: (@Sendable (JSON) -> JSON)? = nil
    ) async throws -> JSON {
        try await update(
            resource, namespace: namespace, name: name, fieldManager: fieldManager, keepStatus: true, dryRun: dryRun
        ) { live in
            let patched = try JSONPatch.apply(operations, to: live)
            return keepOnly?(patched) ?? patched
        }
    }
}
