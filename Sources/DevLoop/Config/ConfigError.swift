/// Bad input in `dev/devloop.yaml` or a dev manifest, located in the file: the CLI prints
/// `description` and exits 2, before anything reaches a cluster.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file as the user named it (absolute after loading).
    public var file: String
    /// 1-based; 1 for problems of the whole file.
    public var line: Int
    /// 1-based, in Unicode scalars as libyaml counts them.
    public var column: Int
    /// The field path (`sync[0].from`), or `(file)` for the file as a whole, `(document N)` in a
    /// multi-document manifest.
    public var field: String
    /// What is wrong, never quoting the source line (it may hold a token).
    public var message: String

    public init(file: String, line: Int, column: Int, field: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    /// `FILE:LINE:COLUMN: field.path: what is wrong`.
    public var description: String { "\(file):\(line):\(column): \(field): \(message)" }

    /// The field name of problems that belong to the file, not to one field.
    public static let wholeFile = "(file)"
}
