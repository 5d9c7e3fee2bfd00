/// One step of bringing the destination in line with the local tree. Paths are tree-relative.
public enum SyncOperation: Sendable, Hashable {
    case rename(from: String, to: String)
    /// Removes a file, symlink or whole directory.
    case delete(String)
    /// Creates a directory, or sets its mode when it exists.
    case directory(String, mode: UInt32)
    /// Copies a regular file from the local tree (content read when the batch is applied).
    case file(String, mode: UInt32)
    case symlink(String, target: String)
    /// Sets the mode of a file whose content is already there.
    case chmod(String, mode: UInt32)

    public var path: String {
        switch self {
        case .rename(_, let to): return to
        case .delete(let p), .directory(let p, _), .file(let p, _), .symlink(let p, _), .chmod(let p, _): return p
        }
    }
}

/// An ordered set of operations applied together: renames, then deletes, then writes (parents
/// before children).
public struct SyncBatch: Sendable, Equatable {
    public var operations: [SyncOperation]

    public init(_ operations: [SyncOperation] = []) { self.operations = operations }

    public var isEmpty: Bool { operations.isEmpty }
}

/// An entry found at the destination by a listing.
public struct DestinationEntry: Sendable, Equatable {
    public var kind: EntryKind
    public var mode: UInt32
    public var size: Int64
    /// Seconds since the epoch; what every transport can report.
    public var mtimeSeconds: Int64
    public var target: String?

    public init(kind: EntryKind, mode: UInt32, size: Int64, mtimeSeconds: Int64, target: String? = nil) {
        self.kind = kind
        self.mode = mode
        self.size = size
        self.mtimeSeconds = mtimeSeconds
        self.target = target
    }
}

/// Guards against writing outside the destination root.
public enum PathPolicy {
    /// A tree-relative path is safe when it has no empty, "." or ".." component, no leading "/" and
    /// no NUL or newline (the exec transport's listing is line-based).
    public static func isSafe(_ path: String) -> Bool {
        if path.isEmpty || path.hasPrefix("/") || path.contains("\0") || path.contains("\n") { return false }
        return !path.split(separator: "/", omittingEmptySubsequences: false).contains {
            $0.isEmpty || $0 == "." || $0 == ".."
        }
    }

    /// A symlink at `path` with `target` is copied only when the target is relative and stays
    /// inside the tree: ".." only as leading components (resolved against real directories) and no
    /// more of them than the link is deep.
    public static func isSymlinkInside(target: String, at path: String) -> Bool {
        if target.isEmpty || target.hasPrefix("/") || target.contains("\0") { return false }
        let depth = path.split(separator: "/").count - 1
        var ups = 0
        var descended = false
        for component in target.split(separator: "/") {
            if component == ".." {
                if descended { return false }
                ups += 1
            } else if component != "." {
                descended = true
            }
        }
        return ups <= depth
    }
}
