import Yams

/// A YAML syntax error in words, without the source text. Yams's own description quotes the offending
/// line, and in a kubeconfig or a Secret manifest that line is often a token or a key.
enum YAMLErrorDescription {
    /// "not valid YAML: line L, column C: problem".
    static func of(_ error: any Error) -> String {
        "not valid YAML: " + describe(error)
    }

    static func describe(_ error: any Error) -> String {
        guard let error = error as? YamlError else { return "the YAML could not be read" }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let started = context.map { " (\($0.text) started at line \($0.mark.line), column \($0.mark.column))" }
            return "line \(mark.line), column \(mark.column): \(problem)\(started ?? "")"
        case .reader(let problem, _, _, _):
            return "\(problem) (the file must be UTF-8 text)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "line \(context.mark.line), column \(context.mark.column): duplicated key(s) "
                + duplicates.sorted().joined(separator: ", ")
        case .dataCouldNotBeDecoded:
            return "the file is not UTF-8 text"
        case .no, .memory, .writer, .emitter, .representer:
            return "the YAML could not be read"
        }
    }
}
