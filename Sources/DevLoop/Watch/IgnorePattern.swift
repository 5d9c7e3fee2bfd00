/// One line of a `.gitignore`-style file, parsed the way git's dir.c parses it.
struct IgnorePattern: Sendable, Equatable {
    /// The glob, without the leading `!`, the anchoring `/` and the trailing `/`.
    let glob: [UInt8]
    let negated: Bool
    /// A trailing `/`: matches directories only.
    let directoryOnly: Bool
    /// No `/` left in the glob: matched against the name at any depth below `base`.
    let matchesBasename: Bool
    /// The directory (relative to the tree root, "" for the root) the pattern is relative to.
    let base: String

    /// Parses one line; nil for blanks and comments. `anchored` forces root-relative matching
    /// (`.dockerignore` semantics).
    init?(line rawLine: Substring, base: String, anchored: Bool = false) {
        var line = Array(rawLine.utf8)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        // Trailing spaces are dropped unless escaped with a backslash.
        while line.last == UInt8(ascii: " ") {
            if line.count >= 2 && line[line.count - 2] == UInt8(ascii: "\\") {
                line.remove(at: line.count - 2)
                break
            }
            line.removeLast()
        }
        guard let first = line.first, first != UInt8(ascii: "#") else { return nil }
        var negated = false
        if first == UInt8(ascii: "!") {
            negated = true
            line.removeFirst()
        }
        var directoryOnly = false
        if line.last == UInt8(ascii: "/") {
            directoryOnly = true
            line.removeLast()
        }
        guard !line.isEmpty else { return nil }
        var matchesBasename = !line.contains(UInt8(ascii: "/")) && !anchored
        if line.first == UInt8(ascii: "/") {
            line.removeFirst()
            matchesBasename = false
        }
        guard !line.isEmpty else { return nil }
        self.glob = line
        self.negated = negated
        self.directoryOnly = directoryOnly
        self.matchesBasename = matchesBasename
        self.base = base
    }

    /// Whether the pattern matches `path` (relative to the tree root, no trailing slash).
    func matches(path: [UInt8], name: ArraySlice<UInt8>, isDirectory: Bool) -> Bool {
        if directoryOnly && !isDirectory { return false }
        if matchesBasename { return Wildmatch.matches(pattern: glob, text: Array(name)) }
        if base.isEmpty { return Wildmatch.matches(pattern: glob, text: path) }
        let prefix = base.utf8.count + 1
        guard path.count > prefix else { return false }
        return Wildmatch.matches(pattern: glob, text: Array(path[prefix...]))
    }

    static func parse(_ text: String, base: String, anchored: Bool = false) -> [IgnorePattern] {
        text.split(separator: "\n", omittingEmptySubsequences: false).compactMap {
            IgnorePattern(line: $0, base: base, anchored: anchored)
        }
    }
}
