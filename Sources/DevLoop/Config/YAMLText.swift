import Foundation
import Yams

/// The checks every YAML file devloop reads as bad-input-prone goes through before Yams sees it:
/// bounded size, UTF-8 text, and no alias expansion that Yams's composer would pay for exponentially.
/// libyaml itself bounds nesting (1000 levels), so the composer's recursion stays bounded too.
enum YAMLText {
    static let maxBytes = 1 << 20

    /// Reads at most `maxBytes` (+1 to tell) of a regular file. Blocking: callers are synchronous
    /// loaders that the CLI runs before any task starts, or run off the cooperative pool.
    static func read(path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw fileError(path, "does not exist")
        }
        if isDirectory.boolValue { throw fileError(path, "is a folder, not a file") }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw fileError(path, "cannot be read") }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw fileError(path, "cannot be read (\(error.localizedDescription))")
        }
        return try text(data, file: path)
    }

    /// UTF-8 text without control characters that only binary data has, at most `maxBytes`.
    static func text(_ data: Data, file: String) throws -> String {
        if data.count > maxBytes {
            throw fileError(file, "is larger than \(maxBytes / 1024) KiB: not a config or manifest file")
        }
        var parser = Unicode.UTF8.ForwardParser()
        var bytes = data.makeIterator()
        var (line, column) = (1, 1)
        var scalars = String.UnicodeScalarView()
        while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if let problem = binaryProblem(scalar, first: scalars.isEmpty) {
                    throw ConfigError(
                        file: file, line: line, column: column, field: ConfigError.wholeFile, message: problem)
                }
                scalars.append(scalar)
                if scalar == "\n" { (line, column) = (line + 1, 1) } else { column += 1 }
            case .emptyInput:
                return String(scalars)
            case .error:
                throw ConfigError(
                    file: file, line: line, column: column, field: ConfigError.wholeFile,
                    message: "is not UTF-8 text (binary data?)")
            }
        }
    }

    /// The same checks for text that is already a String (tests, stdin).
    static func check(_ text: String, file: String) throws {
        if text.utf8.count > maxBytes {
            throw fileError(file, "is larger than \(maxBytes / 1024) KiB: not a config or manifest file")
        }
        var (line, column) = (1, 1)
        var first = true
        for scalar in text.unicodeScalars {
            if let problem = binaryProblem(scalar, first: first) {
                throw ConfigError(
                    file: file, line: line, column: column, field: ConfigError.wholeFile, message: problem)
            }
            first = false
            if scalar == "\n" { (line, column) = (line + 1, 1) } else { column += 1 }
        }
    }

    private static func binaryProblem(_ scalar: Unicode.Scalar, first: Bool) -> String? {
        switch scalar.value {
        case 0: return "contains a NUL byte: binary data, not YAML text"
        case 0x09, 0x0A, 0x0D, 0x85: return nil
        case 0..<0x20, 0x7F, 0x80..<0xA0, 0xFFFE, 0xFFFF:
            return "contains the control character U+\(String(scalar.value, radix: 16, uppercase: true)): not YAML text"
        case 0xFEFF where !first: return "contains a byte order mark inside the text"
        default: return nil
        }
    }

    /// Every document of the stream, each its root node. Errors carry line and column and never the
    /// source line.
    static func documents(_ text: String, file: String) throws -> [Node] {
        try check(text, file: file)
        try AliasGuard.check(text, file: file)
        var nodes: [Node] = []
        do {
            let parser = try Parser(yaml: text)
            while let node = try parser.nextRoot() { nodes.append(node) }
        } catch {
            throw syntaxError(error, file: file)
        }
        return nodes
    }

    static func syntaxError(_ error: any Error, file: String) -> ConfigError {
        guard let error = error as? YamlError else {
            return fileError(file, "could not be read as YAML")
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let started = context.map { " (\($0.text) started at line \($0.mark.line), column \($0.mark.column))" }
            return ConfigError(
                file: file, line: mark.line, column: mark.column, field: ConfigError.wholeFile,
                message: "not valid YAML: \(problem)\(started ?? "")")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "`\($0)`" }.joined(separator: ", ")
            return ConfigError(
                file: file, line: max(context.mark.line, 1), column: max(context.mark.column, 1),
                field: duplicates.sorted().first ?? ConfigError.wholeFile,
                message: "duplicate key \(keys): a key may appear only once in a mapping")
        case .reader(let problem, _, _, _):
            return fileError(file, "\(problem) (the file must be UTF-8 text)")
        case .dataCouldNotBeDecoded:
            return fileError(file, "is not UTF-8 text")
        case .no, .memory, .writer, .emitter, .representer:
            return fileError(file, "could not be read as YAML")
        }
    }

    static func fileError(_ file: String, _ message: String) -> ConfigError {
        ConfigError(file: file, line: 1, column: 1, field: ConfigError.wholeFile, message: message)
    }
}
