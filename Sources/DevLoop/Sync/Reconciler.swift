/// The initial sync (and the recovery after a failed batch): compares the local tree with a
/// listing of the destination — size and mtime, and a content hash where those disagree — and
/// plans only the difference. Destination-only entries are deleted unless the pod owns them.
// IgnoreRules caches without a lock: the engine hands its rules to one reconcile at a time and
// leaves them alone meanwhile.
struct Reconciler: @unchecked Sendable {
    let root: String
    let rules: IgnoreRules
    let podOwned: [IgnorePattern]
    let maxFileSize: Int64
    /// Paths whose destination copy size and mtime cannot vouch for (a failed batch may have left one of
    /// the same size and second): compared by hash.
    var suspects: Set<String> = []

    init(root: String, rules: IgnoreRules, podOwnedPaths: [String], maxFileSize: Int64 = SyncOptions.defaultMaxFileSize)
    {
        self.root = root
        self.rules = rules
        self.maxFileSize = maxFileSize
        self.podOwned = podOwnedPaths.compactMap { IgnorePattern(line: Substring($0), base: "") }
    }

    /// Returns the batch and the index the destination will have once it is applied. The walk and
    /// the hashing run as blocking work, off the cooperative threads.
    nonisolated(nonsending) func plan(transport: any SyncTransport) async throws -> Plan {
        let remote = try await transport.listDestination()
        var walk = try await BlockingWork.run { cancelled in try self.walk(comparingWith: remote, cancelled) }
        if !walk.hashCandidates.isEmpty {
            let theirs = try await transport.hashes(of: walk.hashCandidates)
            walk.ship += try await BlockingWork.run { [walk] cancelled in
                try walk.hashCandidates.filter { path in
                    try cancelled.check()
                    return theirs[path] != FileDigest.hexDigest(ofFile: root + "/" + path)
                        || remote[path]?.mode != walk.index[path]?.mode
                }
            }
        }
        return Plan(batch: operations(walk, remote: remote), index: walk.index, refused: walk.refused)
    }

    struct Plan: Sendable {
        var batch: SyncBatch
        var index: DestinationIndex
        /// What the walk left out, for the engine to warn about once.
        var refused: [SyncRefusal]
    }

    struct Walk: Sendable {
        var refused: [SyncRefusal] = []
        var index = DestinationIndex()
        var ship: [String] = []
        var hashCandidates: [String] = []
        var deletes: [String] = []
    }

    private func walk(comparingWith remote: [String: DestinationEntry], _ cancelled: CancellationFlag) throws -> Walk {
        rules.invalidateAll()
        var walk = Walk()
        var stack = [""]
        while let directory = stack.popLast() {
            try cancelled.check()
            for (name, kind) in DirectoryReader.entries(of: directory.isEmpty ? root : root + "/" + directory) {
                let path = DirectoryReader.join(directory, name)
                guard !rules.isExcluded(path, isDirectory: kind == .directory) else { continue }
                let local = PathPolicy.isSafe(path) ? LocalEntry.stat(root + "/" + path) : nil
                if let refusal = SyncRefusal.of(path, local, root: root, maxFileSize: maxFileSize) {
                    walk.refused.append(refusal)
                    continue
                }
                guard let local else { continue }
                walk.index.set(path, local)
                if local.kind == .directory { stack.append(path) }
                guard let there = remote[path] else {
                    walk.ship.append(path)
                    continue
                }
                if there.kind != local.kind {
                    walk.deletes.append(path)
                    walk.ship.append(path)
                } else if local.kind == .file && there.size == local.size {
                    if there.mtimeSeconds != local.mtimeNanoseconds / 1_000_000_000 || local.racy
                        || suspects.contains(path)
                    {
                        walk.hashCandidates.append(path)
                    } else if there.mode != local.mode {
                        walk.ship.append(path)
                    }
                } else if local.kind == .file || there.mode != local.mode
                    || (local.kind == .symlink && there.target != local.target)
                {
                    walk.ship.append(path)
                }
            }
        }
        return walk
    }

    private func operations(_ walk: Walk, remote: [String: DestinationEntry]) -> SyncBatch {
        let index = walk.index
        var deletes = walk.deletes
        for path in remote.keys where index[path] == nil && !isPodOwned(path) {
            let (parent, _) = DestinationIndex.split(path)
            // Only the topmost entry of a destination-only subtree needs deleting.
            if parent.isEmpty || index[parent] != nil || isPodOwned(parent) { deletes.append(path) }
        }
        var operations = deletes.sorted().map { SyncOperation.delete($0) }
        for path in walk.ship.sorted() {
            guard let entry = index[path] else { continue }
            switch entry.kind {
            case .file: operations.append(.file(path, mode: entry.mode))
            case .directory: operations.append(.directory(path, mode: entry.mode))
            case .symlink: operations.append(.symlink(path, target: entry.target ?? ""))
            case .other: break
            }
        }
        return SyncBatch(operations)
    }

    private func isPodOwned(_ path: String) -> Bool {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix = DirectoryReader.join(prefix, String(component))
            let bytes = Array(prefix.utf8)
            let nameStart = bytes.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0
            if podOwned.contains(where: { $0.matches(path: bytes, name: bytes[nameStart...], isDirectory: true) }) {
                return true
            }
        }
        return false
    }
}
