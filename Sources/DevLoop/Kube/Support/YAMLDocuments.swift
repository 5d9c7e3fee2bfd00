import Foundation
import Yams

/// Reads YAML (manifests, kubeconfig) into `JSONValue`, with YAML's scalar types resolved as
/// Kubernetes does (timestamps and other tags stay strings).
enum YAMLDocuments {
    /// Every non-empty document of a multi-document YAML text.
    static func parse(_ text: String) throws -> [JSONValue] {
        var documents = try Yams.compose_all(yaml: text)
        var values: [JSONValue] = []
        while let node = documents.next() {
            let value = JSONValue(node: node)
            if value != .null { values.append(value) }
        }
        // The sequence stops at a syntax error instead of throwing it.
        if let error = documents.error { throw error }
        return values
    }

    static func parseOne(_ text: String) throws -> JSONValue {
        try Yams.compose(yaml: text).map(JSONValue.init(node:)) ?? .null
    }
}

extension JSONValue {
    init(node: Node) {
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: self = .null
            case .bool: self = node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int: self = node.int.map { .number(Double($0)) } ?? .string(scalar.string)
            case .float: self = node.float.map(JSONValue.number) ?? .string(scalar.string)
            default: self = .string(scalar.string)
            }
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping where object[key.string ?? ""] == nil {
                object[key.string ?? ""] = JSONValue(node: value)
            }
            self = .object(object)
        case .sequence(let sequence):
            self = .array(sequence.map(JSONValue.init(node:)))
        case .alias:
            self = .null
        }
    }
}
