import Logging

/// Turns watcher changes into batches. It keeps the index of what the destination holds, looks at
/// the local state of every path a change names (state, not event replay: a path deleted and
/// recreated ten times ships once), and keeps renames as renames when the destination has the
/// source of the rename.
struct SyncPlanner {
    /// How closely to look at a path: its mode only, its stamp (ship only if it differs from what
    /// was shipped), always ship it, or it and everything below it.
    private enum Scope: Int { case attributes, verify, entry, tree }

    let root: String
    let rules: IgnoreRules
    let logger: Logger
    var index = DestinationIndex()
    /// How the local state of an absolute path is read: a seam for tests that race the tree
    /// against the planner.
    var localEntry: (String) -> LocalEntry? = LocalEntry.stat
    /// Files larger than this are left out: a dev loop ships sources, not disk images or databases.
    var maxFileSize: Int64 = SyncOptions.defaultMaxFileSize
    /// Refusals already reported (`SyncRefusal.key`), so each is reported once.
    private var warned = Set<String>()

    private var renames: [SyncOperation] = []
    private var deletes: [SyncOperation] = []
    private var writes: [SyncOperation] = []
    private var writtenPaths = Set<String>()
    private var writtenOperations = Set<SyncOperation>()

    init(root: String, rules: IgnoreRules, logger: Logger) {
        self.root = root
        self.rules = rules
        self.logger = logger
    }

    mutating func plan(_ changes: [WatchChange]) -> SyncBatch {
        var dirty: [String: Scope] = [:]
        var rescan = false
        func mark(_ path: String, _ scope: Scope) {
            if (dirty[path]?.rawValue ?? -1) < scope.rawValue { dirty[path] = scope }
        }
        for change in changes {
            switch change {
            case .path(let path): mark(path, .entry)
            case .tree(let path): mark(path, .tree)
            case .attributes(let path): mark(path, .attributes)
            case .rescan: rescan = true
            case .renamed(let from, let to):
                // A rename is replayed at the destination only when it has both the source and the
                // target's parent; otherwise the target ships as new. A target at, below or above
                // the source comes from a stale path (no file system can do it; the watcher named
                // a queued event through a watch it had already re-read at its later place): look
                // at both instead. Replayed, a rename onto an ancestor removes its own source.
                let parent = DestinationIndex.split(to).parent
                guard index[from] != nil, parent.isEmpty || index[parent]?.kind == .directory,
                    to != from, !to.hasPrefix(from + "/"), !from.hasPrefix(to + "/"),
                    PathPolicy.isSafe(from), PathPolicy.isSafe(to)
                else {
                    mark(from, .entry)
                    mark(to, .tree)
                    continue
                }
                renames.append(.rename(from: from, to: to))
                index.move(from: from, to: to)
                // Pending changes below the old name now live below the new one.
                for (path, scope) in dirty where path == from || path.hasPrefix(from + "/") {
                    dirty[path] = nil
                    mark(to + path.dropFirst(from.count), scope)
                }
                // The old name is looked at too: a stale event path may name an entry that is
                // still (or again) there.
                mark(from, .entry)
                // A moved directory may fall under different ignore rules at its new place; a moved
                // file may have changed before its directory was watched.
                mark(to, index[to]?.kind == .directory ? .tree : .verify)
            }
        }
        if rescan {
            rules.invalidateAll()
            // Files with events ship even when their stamp looks unchanged.
            for (path, scope) in dirty where scope != .attributes {
                if var entry = index[path], entry.kind == .file {
                    entry.racy = true
                    index.set(path, entry)
                }
            }
            reconcile("", .tree)
        }
        for path in dirty.keys.sorted() { reconcile(path, dirty[path]!) }
        return takeBatch()
    }

    /// A batch bringing everything in line with the local tree, trusting stamps only where they
    /// are not racy.
    mutating func planFullWalk() -> SyncBatch {
        rules.invalidateAll()
        reconcile("", .tree)
        return takeBatch()
    }

    private mutating func takeBatch() -> SyncBatch {
        defer {
            renames = []
            deletes = []
            writes = []
            writtenPaths = []
            writtenOperations = []
        }
        return SyncBatch(renames + deletes + writes)
    }

    private mutating func delete(_ path: String) {
        guard let entry = index[path] ?? placeholder(path) else { return }
        deletes.append(.delete(path))
        index.remove(path)
        // Deletes run before writes: drop writes planned earlier in this batch at or below `path`
        // (found by a walk before the path vanished), or they would recreate it.
        if writtenPaths.contains(path) || (entry.kind == .directory && !writtenPaths.isEmpty) {
            writes.removeAll { $0.path == path || $0.path.hasPrefix(path + "/") }
            writtenOperations = writtenOperations.filter { $0.path != path && !$0.path.hasPrefix(path + "/") }
            writtenPaths = writtenPaths.filter { $0 != path && !$0.hasPrefix(path + "/") }
        }
    }

    /// A directory the index knows only through entries below it (the destination has them, so
    /// it has the directory too): it must be deleted all the same.
    private func placeholder(_ path: String) -> LocalEntry? {
        guard !index.childNames(of: path).isEmpty else { return nil }
        return LocalEntry(kind: .directory, mode: 0o755, size: 0, mtimeNanoseconds: 0, inode: 0)
    }

    private mutating func write(_ operation: SyncOperation) {
        guard writtenOperations.insert(operation).inserted else { return }
        writes.append(operation)
        writtenPaths.insert(operation.path)
    }

    private mutating func reconcile(_ path: String, _ scope: Scope) {
        if path.isEmpty { return walk("") }
        guard PathPolicy.isSafe(path) else {
            if let refusal = SyncRefusal.of(path, nil, root: root, maxFileSize: maxFileSize) { report(refusal) }
            return
        }
        var local = localEntry(root + "/" + path)
        if let entry = local, rules.isIgnored(path, isDirectory: entry.kind == .directory) { local = nil }
        guard let local else { return delete(path) }
        if let refusal = SyncRefusal.of(path, local, root: root, maxFileSize: maxFileSize) {
            report(refusal)
            return delete(path)
        }
        // Parents first: the destination must never get directories the index does not know.
        let (parent, _) = DestinationIndex.split(path)
        if !parent.isEmpty && index[parent]?.kind != .directory {
            reconcile(parent, .entry)
            // The parent vanished (or stopped being a directory) since `path` was looked at: an
            // ancestor is being deleted or renamed, so `path` is gone too. Writing it would make
            // the transport create its parents, which the index would not know and so never delete.
            guard index[parent]?.kind == .directory else { return delete(path) }
        }
        var old = index[path]
        if let previous = old, previous.kind != local.kind {
            delete(path)
            old = nil
        }
        switch local.kind {
        case .file:
            if scope == .attributes || scope == .verify, let old, old.sameStamp(local),
                scope == .attributes || !old.racy
            {
                if old.mode != local.mode { write(.chmod(path, mode: local.mode)) }
            } else {
                write(.file(path, mode: local.mode))
            }
            index.set(path, local)
        case .symlink:
            let target = local.target ?? ""
            if old?.target != target { write(.symlink(path, target: target)) }
            index.set(path, local)
        case .directory:
            if old?.mode != local.mode { write(.directory(path, mode: local.mode)) }
            index.set(path, local)
            if old == nil || scope == .tree { walk(path) }
        case .other:
            delete(path)
        }
    }

    /// Warns about a refused entry the first time it is seen, from a batch or a reconcile.
    mutating func report(_ refusal: SyncRefusal) {
        if warned.insert(refusal.key).inserted { logger.warning("\(refusal.message)") }
    }

    /// Compares a local directory with the index, recursing into every subdirectory.
    private mutating func walk(_ directory: String) {
        var seen = Set<String>()
        let absolute = directory.isEmpty ? root : root + "/" + directory
        for (name, kind) in DirectoryReader.entries(of: absolute) {
            let path = DirectoryReader.join(directory, name)
            if rules.isExcluded(path, isDirectory: kind == .directory) { continue }
            seen.insert(name)
            if kind == .file, let old = index[path], !old.racy, let local = localEntry(root + "/" + path),
                local.sameStamp(old), local.mode == old.mode
            {
                continue
            }
            reconcile(path, .tree)
        }
        for name in index.childNames(of: directory) where !seen.contains(name) {
            delete(DirectoryReader.join(directory, name))
        }
    }
}
