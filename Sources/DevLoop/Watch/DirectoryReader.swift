import Glibc

/// The kinds of directory entries the sync engine deals with.
public enum EntryKind: UInt8, Sendable {
    case file, directory, symlink, other
}

/// Lists directories with readdir: much cheaper than FileManager on trees of 100,000 files.
enum DirectoryReader {
    /// The entries of `path` (without "." and ".."), or [] when it cannot be read.
    static func entries(of path: String) -> [(name: String, kind: EntryKind)] {
        listing(of: path) ?? []
    }

    /// The entries of `path`, or nil when it cannot be opened (gone, not a directory).
    static func listing(of path: String) -> [(name: String, kind: EntryKind)]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var result: [(String, EntryKind)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let kind: EntryKind
            switch Int32(entry.pointee.d_type) {
            case Int32(DT_DIR): kind = .directory
            case Int32(DT_REG): kind = .file
            case Int32(DT_LNK): kind = .symlink
            case Int32(DT_UNKNOWN): kind = kindOf(path + "/" + name)
            default: kind = .other
            }
            result.append((name, kind))
        }
        return result
    }

    static func kindOf(_ path: String) -> EntryKind {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .other }
        return kind(mode: st.st_mode)
    }

    static func kind(mode: mode_t) -> EntryKind {
        switch mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// The parent of a tree-relative path ("" for top-level entries).
    static func parent(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "" }
        return String(path[..<slash])
    }

    /// Joins a tree-relative directory and a name ("" is the root).
    static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? name : directory + "/" + name
    }
}
