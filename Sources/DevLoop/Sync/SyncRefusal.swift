import Glibc

/// A local entry the sync leaves out, with the one warning that says why. The planner and the
/// reconciler find them; the planner remembers which were reported, so each is reported once.
struct SyncRefusal: Sendable, Hashable {
    /// What was refused: the same entry refused for another reason (a link retargeted) warns again.
    let key: String
    let message: String

    /// Looks at a local entry the rules did not exclude (`path` relative, below `root`); nil when it
    /// may be synced.
    static func of(_ path: String, _ local: LocalEntry?, root: String, maxFileSize: Int64) -> SyncRefusal? {
        if !PathPolicy.isSafe(path) {
            return SyncRefusal(
                key: path, message: "not syncing \(path.debugDescription): a name with a newline or an unsafe component"
            )
        }
        guard let local else { return nil }
        switch local.kind {
        case .file where local.size > maxFileSize:
            return SyncRefusal(
                key: path + "\0size",
                message: "not syncing \(path): \(local.size >> 20) MiB is above the \(maxFileSize >> 20) MiB limit")
        case .symlink:
            let target = local.target ?? ""
            guard !PathPolicy.isSymlinkInside(target: target, at: path) else { return nil }
            return SyncRefusal(
                key: path + "\0" + target,
                message: "not syncing symlink \(path) -> \(target): it points outside the tree")
        case .other:
            return SyncRefusal(
                key: path + "\0other", message: "not syncing \(path): a FIFO, socket or device is not a file")
        case .file, .directory:
            return unreadable(path, local, root: root)
        }
    }

    /// A file devloop cannot read, or a folder it cannot list, would fail every batch that names it.
    private static func unreadable(_ path: String, _ local: LocalEntry, root: String) -> SyncRefusal? {
        let needs: Int32 = local.kind == .directory ? R_OK | X_OK : R_OK
        let everyone: UInt32 = local.kind == .directory ? 0o555 : 0o444
        // Readable by anyone going by its mode: skip the system call for the usual source file.
        if local.mode & everyone == everyone || access(root + "/" + path, needs) == 0 { return nil }
        let what = local.kind == .directory ? "folder cannot be listed" : "file cannot be read"
        return SyncRefusal(key: path + "\0unreadable", message: "not syncing \(path): the \(what) (permission denied)")
    }
}
