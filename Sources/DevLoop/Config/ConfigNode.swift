import Foundation
import Yams

/// One node of the config with the field path that leads to it, so that every check can say where
/// it failed.
struct ConfigNode {
    let node: Node
    let path: String
    let file: String

    var line: Int { max(node.mark?.line ?? 1, 1) }
    var column: Int { max(node.mark?.column ?? 1, 1) }
    /// The resolved tag (`str` for a quoted scalar, whatever the text says).
    var tagName: Tag.Name { Tag.Name(rawValue: node.tag.rawValue) }
    var isNull: Bool { node.scalar != nil && tagName == .null }

    func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: line, column: column, field: path, message: message)
    }

    /// What this node is, in the words of a type error.
    var kindDescription: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar:
            switch tagName {
            case .null: return "nothing"
            case .bool: return "a boolean"
            case .int, .float: return "a number"
            default: return "a string"
            }
        }
    }

    func child(_ node: Node, _ name: String) -> ConfigNode {
        ConfigNode(node: node, path: path.isEmpty ? name : "\(path).\(name)", file: file)
    }

    /// The entries of a mapping, refusing keys outside `known` (with a suggestion for a near miss).
    /// Null values count as absent: `restart:` with nothing after it is no restart section.
    func mapping(known: [String]) throws -> [String: ConfigNode] {
        guard let mapping = node.mapping else {
            throw error("must be a mapping with the keys \(known.joined(separator: ", ")), not \(kindDescription)")
        }
        var fields: [String: ConfigNode] = [:]
        for (key, value) in mapping {
            let keyNode = child(key, key.scalar?.string ?? "?")
            guard let name = key.scalar?.string else { throw keyNode.error("a key must be a plain name") }
            guard known.contains(name) else {
                throw keyNode.error("unknown key `\(name)`" + Suggestion.hint(for: name, among: known))
            }
            let field = child(value, name)
            if !field.isNull { fields[name] = field }
        }
        return fields
    }

    func required(_ fields: [String: ConfigNode], _ name: String) throws -> ConfigNode {
        guard let field = fields[name] else {
            let present = node.mapping?.first { $0.key.scalar?.string == name }
            if let present {
                throw child(present.key, name).error("needs a value")
            }
            let missing = child(node, name)
            throw ConfigError(file: file, line: line, column: column, field: missing.path, message: "is required")
        }
        return field
    }

    func string() throws -> String {
        guard node.scalar != nil, tagName == .str else {
            let quote = node.scalar != nil && !isNull ? " (quote it to make it one)" : ""
            throw error("must be a string, not \(kindDescription)\(quote)")
        }
        return node.scalar!.string
    }

    func nonEmptyString() throws -> String {
        let value = try string()
        if value.trimmingCharacters(in: .whitespaces).isEmpty { throw error("must not be empty") }
        return value
    }

    func integer() throws -> Int {
        guard node.scalar != nil, tagName == .int, let value = node.int else {
            throw error("must be a whole number, not \(kindDescription)")
        }
        return value
    }

    func sequence() throws -> [ConfigNode] {
        guard let sequence = node.sequence else { throw error("must be a list, not \(kindDescription)") }
        return sequence.enumerated().map { index, element in
            ConfigNode(node: element, path: "\(path)[\(index)]", file: file)
        }
    }

    func strings() throws -> [String] {
        try sequence().map { try $0.nonEmptyString() }
    }
}

/// "did you mean `x`?" for a key one or two edits (a swap counts as one) from a known one.
enum Suggestion {
    static func hint(for name: String, among known: [String]) -> String {
        let scored = known.map { (key: $0, distance: distance(name.lowercased(), $0.lowercased())) }
        if let best = scored.min(by: { $0.distance < $1.distance }),
            best.distance <= min(2, max(1, best.key.count / 3))
        {
            return "; did you mean `\(best.key)`?"
        }
        return " (known keys: \(known.joined(separator: ", ")))"
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
