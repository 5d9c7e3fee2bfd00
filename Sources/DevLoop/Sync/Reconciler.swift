/// The initial sync (and the recovery after a failed batch): compares the local tree with a
/// listing of the destination — size and mtime, and a content hash where those disagree — and
/// plans only the difference. Destination-only entries are deleted unless the pod owns them.
struct Reconciler {
    let root: String
    let rules: IgnoreRules
    let podOwned: [IgnorePattern]

    init(root: String, rules: IgnoreRules, podOwnedPaths: [String]) {
        self.root = root
        self.rules = rules
        self.podOwned = podOwnedPaths.compactMap { IgnorePattern(line: Substring($0), base: "") }
    }

    /// Returns the batch and the index the destination will have once it is applied.
    nonisolated(nonsending) func plan(transport: any SyncTransport) async throws -> (SyncBatch, DestinationIndex) {
        rules.invalidateAll()
        let remote = try await transport.listDestination()
        var index = DestinationIndex()
        var ship: [String] = []
        var hashCandidates: [String] = []
        var deletes: [String] = []
        var stack = [""]
        while let directory = stack.popLast() {
            for (name, kind) in DirectoryReader.entries(of: directory.isEmpty ? root : root + "/" + directory) {
                let path = DirectoryReader.join(directory, name)
                guard !rules.isExcluded(path, isDirectory: kind == .directory), PathPolicy.isSafe(path),
                    let local = LocalEntry.stat(root + "/" + path), local.kind != .other
                else { continue }
                if local.kind == .symlink && !PathPolicy.isSymlinkInside(target: local.target ?? "/", at: path) {
                    continue
                }
                index.set(path, local)
                if local.kind == .directory { stack.append(path) }
                guard let there = remote[path] else {
                    ship.append(path)
                    continue
                }
                if there.kind != local.kind {
                    deletes.append(path)
                    ship.append(path)
                } else if local.kind == .file && there.size == local.size {
                    if there.mtimeSeconds != local.mtimeNanoseconds / 1_000_000_000 || local.racy {
                        hashCandidates.append(path)
                    } else if there.mode != local.mode {
                        ship.append(path)
                    }
                } else if local.kind == .file || there.mode != local.mode
                    || (local.kind == .symlink && there.target != local.target)
                {
                    ship.append(path)
                }
            }
        }
        if !hashCandidates.isEmpty {
            let theirs = try await transport.hashes(of: hashCandidates)
            for path in hashCandidates {
                if theirs[path] != SHA256.hexDigest(ofFile: root + "/" + path)
                    || remote[path]?.mode != index[path]?.mode
                {
                    ship.append(path)
                }
            }
        }
        for path in remote.keys where index[path] == nil && !isPodOwned(path) {
            let (parent, _) = DestinationIndex.split(path)
            // Only the topmost entry of a destination-only subtree needs deleting.
            if parent.isEmpty || index[parent] != nil || isPodOwned(parent) { deletes.append(path) }
        }
        var operations = deletes.sorted().map { SyncOperation.delete($0) }
        for path in ship.sorted() {
            guard let entry = index[path] else { continue }
            switch entry.kind {
            case .file: operations.append(.file(path, mode: entry.mode))
            case .directory: operations.append(.directory(path, mode: entry.mode))
            case .symlink: operations.append(.symlink(path, target: entry.target ?? ""))
            case .other: break
            }
        }
        return (SyncBatch(operations), index)
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
