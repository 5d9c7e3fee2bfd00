import Foundation

/// A label selector in the query-string syntax: `app=web,tier!=db,env in (a,b),!legacy`.
struct LabelSelector: Sendable, Equatable {
    enum Requirement: Sendable, Equatable {
        case equals(String, String)
        case notEquals(String, String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case doesNotExist(String)
    }

    var requirements: [Requirement]

    static let everything = LabelSelector(requirements: [])

    init(requirements: [Requirement]) { self.requirements = requirements }

    init(parsing text: String) throws {
        var requirements: [Requirement] = []
        for term in Self.splitTerms(text) {
            requirements.append(try Self.parseTerm(term))
        }
        self.requirements = requirements
    }

    /// The selector of a Deployment or ReplicaSet (`matchLabels` and `matchExpressions`).
    init(object selector: JSON?) {
        var requirements: [Requirement] = []
        for (key, value) in (selector?["matchLabels"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            requirements.append(.equals(key, value.stringValue ?? ""))
        }
        for expression in selector?["matchExpressions"]?.arrayValue ?? [] {
            let key = expression["key"]?.stringValue ?? ""
            let values = Set((expression["values"]?.arrayValue ?? []).compactMap(\.stringValue))
            switch expression["operator"]?.stringValue {
            case "In": requirements.append(.isIn(key, values))
            case "NotIn": requirements.append(.notIn(key, values))
            case "Exists": requirements.append(.exists(key))
            default: requirements.append(.doesNotExist(key))
            }
        }
        self.requirements = requirements
    }

    func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): return labels[key] == value
            case .notEquals(let key, let value): return labels[key] != value
            case .isIn(let key, let values): return labels[key].map(values.contains) ?? false
            case .notIn(let key, let values): return !(labels[key].map(values.contains) ?? false)
            case .exists(let key): return labels[key] != nil
            case .doesNotExist(let key): return labels[key] == nil
            }
        }
    }

    private static func splitTerms(_ text: String) -> [String] {
        var terms: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == "," && depth == 0 {
                terms.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        terms.append(current)
        return terms.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private static func parseTerm(_ term: String) throws -> Requirement {
        if let range = term.range(of: " notin ") ?? term.range(of: " in ") {
            let key = term[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            let rest = term[range.upperBound...].trimmingCharacters(in: .whitespaces)
            guard rest.hasPrefix("("), rest.hasSuffix(")") else {
                throw APIError.badRequest("unable to parse requirement: found '\(rest)', expected: '('")
            }
            let values = Set(
                rest.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            let notIn = term[range].contains("notin")
            return notIn ? .notIn(key, values) : .isIn(key, values)
        }
        for (op, build) in [
            ("!=", Requirement.notEquals), ("==", Requirement.equals), ("=", Requirement.equals),
        ] as [(String, (String, String) -> Requirement)] {
            if let range = term.range(of: op) {
                let key = term[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                let value = term[range.upperBound...].trimmingCharacters(in: .whitespaces)
                return build(key, value)
            }
        }
        if term.hasPrefix("!") { return .doesNotExist(String(term.dropFirst()).trimmingCharacters(in: .whitespaces)) }
        return .exists(term)
    }
}

/// A field selector: `metadata.name=web,status.phase!=Succeeded` over the fields kube-apiserver
/// indexes for each resource.
struct FieldSelector: Sendable, Equatable {
    struct Term: Sendable, Equatable {
        var field: String
        var value: String
        var negated: Bool
    }

    var terms: [Term]

    static let everything = FieldSelector(terms: [])

    init(terms: [Term]) { self.terms = terms }

    init(parsing text: String, resource: ResourceType) throws {
        var terms: [Term] = []
        for raw in text.split(separator: ",") {
            let term = String(raw)
            let negated = term.contains("!=")
            let parts = term.components(separatedBy: negated ? "!=" : (term.contains("==") ? "==" : "="))
            guard parts.count == 2 else { throw APIError.badRequest("invalid selector: '\(term)'") }
            let field = parts[0].trimmingCharacters(in: .whitespaces)
            guard Self.supported(field, resource) else {
                throw APIError.badRequest(
                    "field label not supported: \(field)")
            }
            terms.append(Term(field: field, value: parts[1].trimmingCharacters(in: .whitespaces), negated: negated))
        }
        self.terms = terms
    }

    private static func supported(_ field: String, _ resource: ResourceType) -> Bool {
        if ["metadata.name", "metadata.namespace"].contains(field) { return true }
        switch resource {
        case .pods: return ["status.phase", "spec.nodeName", "spec.restartPolicy", "status.podIP"].contains(field)
        case .namespaces: return field == "status.phase"
        case .secrets: return field == "type"
        case .events:
            return field.hasPrefix("involvedObject.") || ["reason", "type", "source"].contains(field)
        default: return false
        }
    }

    func matches(_ object: JSON) -> Bool {
        terms.allSatisfy { term in
            let actual = object[path: term.field.split(separator: ".").map(String.init)]?.stringValue ?? ""
            return (actual == term.value) != term.negated
        }
    }
}
