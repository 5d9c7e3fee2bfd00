import Foundation

/// Decides which paths of a source tree stay out of sync: `.gitignore` files at any depth (git's
/// semantics: last match wins, deeper files override their parents, nothing is re-included below an
/// ignored directory), `.dockerignore` and `.devloopignore` at the root, the config's excludes, and
/// `.git/` and `.build*/` by default. Editors' temp files are excluded too.
/// Not thread-safe: owned by one watcher or one scan at a time.
public final class IgnoreRules {
    public static let defaultExcludes = [".git/", ".build*/"]

    private let root: String
    /// Patterns that apply before any `.gitignore` (defaults, `.dockerignore`).
    private let leading: [IgnorePattern]
    /// Patterns that apply after every `.gitignore` and so can override them.
    private let trailing: [IgnorePattern]

    public init(root: String, excludes: [String] = []) {
        self.root = root
        var leading = Self.defaultExcludes.compactMap { IgnorePattern(line: Substring($0), base: "") }
        leading += IgnorePattern.parse(Self.read(root + "/.dockerignore") ?? "", base: "", anchored: true)
        self.leading = leading
        var trailing = IgnorePattern.parse(Self.read(root + "/.devloopignore") ?? "", base: "")
        trailing += excludes.compactMap { IgnorePattern(line: Substring($0), base: "") }
        self.trailing = trailing
    }

    /// Whether `path` (relative to the root, "/"-separated) is excluded, itself or through an
    /// ignored parent directory.
    public func isIgnored(_ path: String, isDirectory: Bool) -> Bool {
        let parent = DirectoryReader.parent(of: path)
        if !parent.isEmpty && isDirectoryIgnored(parent) { return true }
        return matches(path, isDirectory: isDirectory)
    }

    /// Like `isIgnored` when the parent directory is already known to be included: the walkers'
    /// fast path.
    public func isExcluded(_ path: String, isDirectory: Bool) -> Bool {
        matches(path, isDirectory: isDirectory)
    }

    /// Forgets every cached `.gitignore` and verdict (after an ignore file changed on disk).
    public func invalidateAll() {
        chains.removeAll()
        directoryVerdicts.removeAll()
    }

    private var directoryVerdicts: [String: Bool] = [:]

    private func isDirectoryIgnored(_ directory: String) -> Bool {
        if let known = directoryVerdicts[directory] { return known }
        let parent = DirectoryReader.parent(of: directory)
        let verdict =
            (!parent.isEmpty && isDirectoryIgnored(parent)) || matches(directory, isDirectory: true)
        directoryVerdicts[directory] = verdict
        return verdict
    }

    private func matches(_ path: String, isDirectory: Bool) -> Bool {
        let bytes = Array(path.utf8)
        let nameStart = bytes.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0
        let name = bytes[nameStart...]
        if !isDirectory && EditorTempFiles.isTemporary(name: name) { return true }
        if isDirectory && name.elementsEqual(".git".utf8) { return true }
        func verdict(_ patterns: [IgnorePattern]) -> Bool? {
            for pattern in patterns.reversed() where pattern.matches(path: bytes, name: name, isDirectory: isDirectory)
            {
                return !pattern.negated
            }
            return nil
        }
        if let decided = verdict(trailing) { return decided }
        // Deepest .gitignore first: the first file with a matching line decides.
        let directory = nameStart == 0 ? "" : String(decoding: bytes[..<(nameStart - 1)], as: UTF8.self)
        for patterns in chain(for: directory) {
            if let decided = verdict(patterns) { return decided }
        }
        return verdict(leading) ?? false
    }

    /// The non-empty `.gitignore` pattern lists that apply in `directory`, deepest first.
    private var chains: [String: [[IgnorePattern]]] = [:]

    private func chain(for directory: String) -> [[IgnorePattern]] {
        if let cached = chains[directory] { return cached }
        let file = directory.isEmpty ? root + "/.gitignore" : root + "/" + directory + "/.gitignore"
        let own = Self.read(file).map { IgnorePattern.parse($0, base: directory) } ?? []
        let inherited = directory.isEmpty ? [] : chain(for: DirectoryReader.parent(of: directory))
        let result = own.isEmpty ? inherited : [own] + inherited
        chains[directory] = result
        return result
    }

    private static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Names editors give their swap, backup and temporary files: never shipped.
public enum EditorTempFiles {
    private static let suffixes = ["~", ".swp", ".swx", ".swo", "___jb_tmp___", "___jb_old___", ".vsctmp"].map {
        Array($0.utf8)
    }
    private static let prefixes = [".#", ".goutputstream-"].map { Array($0.utf8) }

    static func isTemporary(name: ArraySlice<UInt8>) -> Bool {
        for suffix in suffixes where name.count >= suffix.count && name.suffix(suffix.count).elementsEqual(suffix) {
            return true
        }
        for prefix in prefixes where name.starts(with: prefix) { return true }
        // vim's write probe: 4913, then 4913 + 123·k while that name exists.
        guard name.count >= 4, name.count <= 9, name.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let number = Int(String(decoding: name, as: UTF8.self))
        else { return false }
        return number >= 4913 && (number - 4913) % 123 == 0
    }

    public static func isTemporary(name: String) -> Bool { isTemporary(name: Array(name.utf8)[...]) }
}
