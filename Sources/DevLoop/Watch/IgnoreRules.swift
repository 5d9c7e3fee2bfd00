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
    private var gitignores: [String: [IgnorePattern]] = [:]

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
        var prefixEnd = path.startIndex
        while let slash = path[prefixEnd...].firstIndex(of: "/") {
            if matches(String(path[..<slash]), isDirectory: true) { return true }
            prefixEnd = path.index(after: slash)
        }
        return matches(path, isDirectory: isDirectory)
    }

    /// Like `isIgnored` when the parent directory is already known to be included: the walkers'
    /// fast path.
    public func isExcluded(_ path: String, isDirectory: Bool) -> Bool {
        matches(path, isDirectory: isDirectory)
    }

    /// Forgets the cached `.gitignore` of `directory` (after it changed on disk).
    public func invalidate(directory: String) {
        gitignores[directory] = nil
    }

    public func invalidateAll() {
        gitignores.removeAll()
    }

    private func matches(_ path: String, isDirectory: Bool) -> Bool {
        let bytes = Array(path.utf8)
        let nameStart = bytes.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0
        let name = bytes[nameStart...]
        if EditorTempFiles.isTemporary(name: name) && !isDirectory { return true }
        if isDirectory && name.elementsEqual(".git".utf8) { return true }
        var ignored: Bool?
        func apply(_ patterns: [IgnorePattern]) {
            for pattern in patterns.reversed() where pattern.matches(path: bytes, name: name, isDirectory: isDirectory) {
                ignored = !pattern.negated
                return
            }
        }
        apply(trailing)
        if ignored != nil { return ignored! }
        // Deepest .gitignore first: the first file with a matching line decides.
        var directory = nameStart == 0 ? "" : String(decoding: bytes[..<(nameStart - 1)], as: UTF8.self)
        while true {
            apply(patterns(in: directory))
            if let ignored { return ignored }
            if directory.isEmpty { break }
            directory = directory.lastIndex(of: "/").map { String(directory[..<$0]) } ?? ""
        }
        apply(leading)
        return ignored ?? false
    }

    private func patterns(in directory: String) -> [IgnorePattern] {
        if let cached = gitignores[directory] { return cached }
        let file = directory.isEmpty ? root + "/.gitignore" : root + "/" + directory + "/.gitignore"
        let parsed = Self.read(file).map { IgnorePattern.parse($0, base: directory) } ?? []
        gitignores[directory] = parsed
        return parsed
    }

    private static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Names editors give their swap, backup and temporary files: never shipped.
public enum EditorTempFiles {
    static func isTemporary(name: ArraySlice<UInt8>) -> Bool {
        let s = String(decoding: name, as: UTF8.self)
        if s.hasSuffix("~") || s.hasPrefix(".#") || s.hasPrefix(".goutputstream-") { return true }
        if s.hasSuffix(".swp") || s.hasSuffix(".swx") || s.hasSuffix(".swo") { return true }
        if s.hasSuffix("___jb_tmp___") || s.hasSuffix("___jb_old___") || s.hasSuffix(".vsctmp") { return true }
        // vim's write probe: 4913, then 4913 + 123·k while that name exists.
        if let number = Int(s), number >= 4913, (number - 4913) % 123 == 0 { return true }
        return false
    }

    public static func isTemporary(name: String) -> Bool { isTemporary(name: Array(name.utf8)[...]) }
}
