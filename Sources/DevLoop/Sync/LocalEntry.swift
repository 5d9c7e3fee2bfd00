import Glibc

/// What lstat says about a local entry: enough to tell whether it changed since it was shipped.
struct LocalEntry: Equatable, Sendable {
    var kind: EntryKind
    var mode: UInt32
    var size: Int64
    var mtimeNanoseconds: Int64
    var inode: UInt64
    var target: String?
    /// The mtime is so recent that a same-size rewrite in the same clock tick would not change it
    /// (git's "racy" entries): such an entry is re-shipped by walks instead of trusted.
    var racy = false

    /// The kernel stamps mtimes from a coarse clock: anything this close to "now" may change again
    /// without its stamp changing.
    static let racyWindow: Int64 = 20_000_000

    static func stat(_ absolutePath: String) -> LocalEntry? {
        var st = Glibc.stat()
        guard lstat(absolutePath, &st) == 0 else { return nil }
        let kind = DirectoryReader.kind(mode: st.st_mode)
        var entry = LocalEntry(
            kind: kind, mode: UInt32(st.st_mode & 0o7777), size: Int64(st.st_size),
            mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            inode: UInt64(st.st_ino))
        if kind == .symlink { entry.target = readLink(absolutePath) }
        entry.racy = entry.mtimeNanoseconds >= now() - racyWindow
        return entry
    }

    /// Same content as far as metadata can tell (mode aside).
    func sameStamp(_ other: LocalEntry) -> Bool {
        kind == other.kind && size == other.size && mtimeNanoseconds == other.mtimeNanoseconds
            && inode == other.inode && target == other.target
    }

    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBufferPointer { readlink(path, $0.baseAddress!, 4096) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// What the destination holds, as far as this engine shipped it: a tree of entries that can be
/// renamed and removed subtree-wise.
struct DestinationIndex: Sendable {
    private(set) var entries: [String: LocalEntry] = [:]
    private var children: [String: Set<String>] = [:]

    var count: Int { entries.count }

    subscript(path: String) -> LocalEntry? { entries[path] }

    func childNames(of directory: String) -> Set<String> { children[directory] ?? [] }

    mutating func set(_ path: String, _ entry: LocalEntry) {
        if entries.updateValue(entry, forKey: path) == nil {
            let (parent, name) = Self.split(path)
            children[parent, default: []].insert(name)
        }
    }

    /// Removes `path` and everything known below it (even when `path` itself is not known).
    mutating func remove(_ path: String) {
        let existed = entries.removeValue(forKey: path) != nil
        for name in children.removeValue(forKey: path) ?? [] { removeBelow(DirectoryReader.join(path, name)) }
        if existed {
            let (parent, name) = Self.split(path)
            children[parent]?.remove(name)
        }
    }

    /// Moves `from` and its subtree to `to`, replacing whatever `to` held.
    mutating func move(from: String, to: String) {
        var moved: [(String, LocalEntry)] = []
        collect(from, into: &moved)
        remove(from)
        remove(to)
        for (path, entry) in moved { set(to + path.dropFirst(from.count), entry) }
    }

    private mutating func removeBelow(_ path: String) {
        entries[path] = nil
        for name in children.removeValue(forKey: path) ?? [] { removeBelow(DirectoryReader.join(path, name)) }
    }

    private func collect(_ path: String, into result: inout [(String, LocalEntry)]) {
        guard let entry = entries[path] else { return }
        result.append((path, entry))
        for name in children[path] ?? [] { collect(DirectoryReader.join(path, name), into: &result) }
    }

    static func split(_ path: String) -> (parent: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }
}
