import Foundation
import Yams

/// Apply bodies arrive as YAML or JSON. YAML scalars keep their resolved type: a quoted "5000" stays a
/// string, an unquoted 5000 becomes a number, exactly as the real API server's YAML decoder does.
enum YAMLDocument {
    static func parse(_ text: String) throws -> JSON {
        guard let node = try Yams.compose(yaml: text) else { return .null }
        return convert(node)
    }

    private static func convert(_ node: Node) -> JSON {
        switch node {
        case .mapping(let mapping):
            var fields: [String: JSON] = [:]
            for (key, value) in mapping { fields[key.string ?? ""] = convert(value) }
            return .object(fields)
        case .sequence(let sequence):
            return .array(sequence.map(convert))
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return .bool(Bool.construct(from: scalar) ?? false)
            case .int:
                if let value = Int.construct(from: scalar) { return .int(Int64(value)) }
                return .string(scalar.string)
            case .float: return .double(Double.construct(from: scalar) ?? 0)
            default: return .string(scalar.string)
            }
        case .alias(let alias):
            return .string(alias.anchor.rawValue)
        }
    }
}
