import Glibc

extension TreeWatcher {
    /// Turns raw events into changes, keeping the watch map in step (new, moved and deleted
    /// directories). Runs on the watcher thread.
    func handle(_ events: [InotifyEvent]) {
        var rescan = false
        // Renames whose MOVED_TO is in this drain; any other MOVED_FROM left the watched tree.
        let arriving = Set(events.lazy.filter { $0.has(IN_MOVED_TO) }.map(\.cookie))
        for event in events {
            if event.has(IN_Q_OVERFLOW) {
                rescan = true
                continue
            }
            guard let directory = pathOf[event.wd] else { continue }
            if event.has(IN_IGNORED) {
                if wdOf[directory] == event.wd { wdOf[directory] = nil }
                pathOf[event.wd] = nil
                continue
            }
            if event.has(IN_DELETE_SELF) {
                if directory.isEmpty { rescan = true }
                continue
            }
            if event.name.isEmpty { continue }
            let path = DirectoryReader.join(directory, event.name)
            let isDirectory = event.has(IN_ISDIR)
            if isRuleFile(path) { rescan = true }
            if rules.isExcluded(path, isDirectory: isDirectory) {
                if event.has(IN_MOVED_TO), let from = movesFrom.removeValue(forKey: event.cookie) {
                    movedAway(from)
                }
                continue
            }
            handle(event, path: path, isDirectory: isDirectory, arriving: arriving)
        }
        for from in movesFrom.values { movedAway(from) }
        movesFrom = [:]
        if rescan {
            rewatchAll()
            changes.append(.rescan)
        }
        // Directories that appeared while an ancestor was being renamed: watch them now and look
        // at everything in them (again, should the tree keep moving during the walk).
        var rounds = 0
        while watchesStale && rounds < 8 {
            watchesStale = false
            rounds += 1
            for directory in rewatchAll() { changes.append(.tree(directory)) }
        }
    }

    private func handle(_ event: InotifyEvent, path: String, isDirectory: Bool, arriving: Set<UInt32>) {
        if event.has(IN_CREATE) {
            deferredRemoval[path] = nil
            if isDirectory {
                watchNewTree(path)
                changes.append(.tree(path))
            } else if DirectoryReader.kindOf(root + "/" + path) == .file {
                // Shipped on its close, so the destination never sees it half written.
                if pendingClose[path] == nil { pendingClose[path] = .now + Self.grace }
            } else {
                changes.append(.path(path))
            }
        } else if event.has(IN_MODIFY) {
            if pendingClose[path] == nil { pendingClose[path] = .now + Self.grace }
        } else if event.has(IN_CLOSE_WRITE) {
            pendingClose[path] = nil
            changes.append(.path(path))
        } else if event.has(IN_ATTRIB) {
            if pendingClose[path] == nil { changes.append(.attributes(path)) }
        } else if event.has(IN_DELETE) {
            pendingClose[path] = nil
            deferredRemoval[path] = nil
            if isDirectory { unwatchTree(path, removeFromKernel: false) }
            changes.append(.path(path))
        } else if event.has(IN_MOVED_FROM) {
            movesFrom[event.cookie] = (path, isDirectory, changes.count)
            changes.append(nil)
            // Gone to a place not watched (yet): forget its watches now, not at the end of the
            // drain. Later events of this drain still name them (something moved into it), and
            // the paths they had before the move would turn into a rename into its own subtree.
            if !arriving.contains(event.cookie), let from = movesFrom.removeValue(forKey: event.cookie) {
                movedAway(from)
            }
        } else if event.has(IN_MOVED_TO) {
            deferredRemoval[path] = nil
            if let from = movesFrom.removeValue(forKey: event.cookie) {
                if from.isDirectory {
                    repathTree(from: from.path, to: path)
                    // Heals watches a race left out below it (adding an existing watch is cheap).
                    watchNewTree(path)
                }
                if let deadline = pendingClose.removeValue(forKey: from.path) { pendingClose[path] = deadline }
                changes[from.slot] = .renamed(from: from.path, to: path)
            } else if isDirectory {
                watchNewTree(path)
                changes.append(.tree(path))
            } else {
                changes.append(.path(path))
            }
        }
    }

    /// An entry left the tree or took an ignored name. A file that did so is most likely an
    /// editor's backup step (vim's `foo~`, JetBrains' `___jb_old___`): its removal waits briefly
    /// for the replacement, so the destination sees one update instead of a delete and a create.
    private func movedAway(_ from: (path: String, isDirectory: Bool, slot: Int)) {
        if from.isDirectory {
            unwatchTree(from.path, removeFromKernel: true)
            changes[from.slot] = .path(from.path)
        } else {
            pendingClose[from.path] = nil
            deferredRemoval[from.path] = .now + Self.grace
        }
    }

    private func isRuleFile(_ path: String) -> Bool {
        path == ".dockerignore" || path == ".devloopignore" || path == ".gitignore" || path.hasSuffix("/.gitignore")
    }
}

/// Walks a source tree, skipping ignored entries and never descending into ignored directories.
enum TreeWalker {
    /// Every non-ignored directory at or below `below` (tree-relative, "" for the root).
    static func directories(root: String, rules: IgnoreRules, below: String = "") -> [String] {
        var result: [String] = []
        var stack = [below]
        while let directory = stack.popLast() {
            result.append(directory)
            let absolute = directory.isEmpty ? root : root + "/" + directory
            for (name, kind) in DirectoryReader.entries(of: absolute) where kind == .directory {
                let path = DirectoryReader.join(directory, name)
                if !rules.isExcluded(path, isDirectory: true) { stack.append(path) }
            }
        }
        return result
    }
}
