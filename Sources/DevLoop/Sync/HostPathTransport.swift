import Foundation
import Glibc
import Logging

/// Writes straight into the directory the pod mounts (kubesim, kind with extraMounts, k3s,
/// minikube with a mount). Files land under a temporary name in their directory and are renamed
/// into place, so the pod never sees half a file.
public struct HostPathTransport: SyncTransport {
    public let source: String
    public let destination: String
    public var name: String { "hostPath" }

    private let resolvedDestination: String

    public init(source: String, destination: String) {
        self.source = source
        self.destination = destination
        if let resolved = realpath(destination, nil) {
            resolvedDestination = String(cString: resolved)
            free(resolved)
        } else {
            resolvedDestination = destination
        }
    }

    @discardableResult
    public func apply(_ batch: SyncBatch) async throws -> [String] {
        try await BlockingWork.run { cancelled in
            var skipped: [String] = []
            for operation in batch.operations {
                try cancelled.check()
                if try !apply(operation) { skipped.append(operation.path) }
            }
            return skipped
        }
    }

    /// Applies one operation; false when its source vanished (the local file, or the destination's
    /// entry a rename moves).
    func apply(_ operation: SyncOperation) throws -> Bool {
        for path in Self.paths(of: operation) where !PathPolicy.isSafe(path) {
            throw SyncTransportError("refusing to write outside \(destination): \(path)")
        }
        let target = destination + "/" + operation.path
        switch operation {
        case .rename(let from, _):
            if Glibc.rename(destination + "/" + from, target) != 0 {
                // The destination lost the source behind the engine's back: the target is skipped
                // (cleared, so no stale copy stays) and the engine ships it as new.
                if errno == ENOENT && LocalEntry.stat(destination + "/" + from) == nil {
                    try FileTree.remove(target)
                    return false
                }
                guard errno == ENOTEMPTY || errno == EISDIR || errno == ENOTDIR || errno == EEXIST else {
                    throw SyncTransportError("rename \(from) -> \(operation.path): \(Self.error())")
                }
                // Replacing an ancestor would remove the source with it (the planner never asks).
                guard !from.hasPrefix(operation.path + "/") else {
                    throw SyncTransportError("rename \(from) -> \(operation.path): onto its own ancestor")
                }
                try FileTree.remove(target)
                guard Glibc.rename(destination + "/" + from, target) == 0 else {
                    throw SyncTransportError("rename \(from) -> \(operation.path): \(Self.error())")
                }
            }
        case .delete:
            try FileTree.remove(target)
        case .directory(_, let mode):
            try makeParents(of: operation.path)
            if mkdir(target, mode_t(mode)) != 0 {
                if errno == EEXIST && DirectoryReader.kindOf(target) != .directory {
                    try FileTree.remove(target)
                    guard mkdir(target, mode_t(mode)) == 0 else {
                        throw SyncTransportError("mkdir \(target): \(Self.error())")
                    }
                } else if errno != EEXIST {
                    throw SyncTransportError("mkdir \(target): \(Self.error())")
                }
            }
            chmod(target, mode_t(mode))
        case .file(let path, let mode):
            try makeParents(of: path)
            if try FileTree.copyAtomically(from: source + "/" + path, to: target, mode: mode) { return true }
            try FileTree.remove(target)
            return false
        case .symlink(let path, let linkTarget):
            try makeParents(of: path)
            let temporary = FileTree.temporaryName(for: target)
            guard symlink(linkTarget, temporary) == 0 else {
                throw SyncTransportError("symlink \(target): \(Self.error())")
            }
            try FileTree.replace(target, with: temporary)
        case .chmod(_, let mode):
            if chmod(target, mode_t(mode)) != 0 && errno != ENOENT {
                throw SyncTransportError("chmod \(target): \(Self.error())")
            }
        }
        return true
    }

    /// Creates missing parent directories, refusing any parent that resolves outside the root
    /// (a symlink the pod put there).
    private func makeParents(of path: String) throws {
        let (parent, _) = DestinationIndex.split(path)
        guard !parent.isEmpty else { return }
        let absolute = destination + "/" + parent
        if DirectoryReader.kindOf(absolute) != .directory {
            try FileManager.default.createDirectory(atPath: absolute, withIntermediateDirectories: true)
        }
        guard let resolved = realpath(absolute, nil) else { throw SyncTransportError("cannot resolve \(absolute)") }
        defer { free(resolved) }
        let real = String(cString: resolved)
        let rootPath = resolvedDestination
        guard real == rootPath || real.hasPrefix(rootPath == "/" ? "/" : rootPath + "/") else {
            throw SyncTransportError("refusing to write through \(parent): it resolves outside \(destination)")
        }
    }

    public func listDestination() async throws -> [String: DestinationEntry] {
        try await BlockingWork.run { cancelled in try listing(cancelled) }
    }

    private func listing(_ cancelled: CancellationFlag) throws -> [String: DestinationEntry] {
        var result: [String: DestinationEntry] = [:]
        var stack = [""]
        while let directory = stack.popLast() {
            try cancelled.check()
            let absolute = directory.isEmpty ? destination : destination + "/" + directory
            for (name, _) in DirectoryReader.entries(of: absolute) {
                let path = DirectoryReader.join(directory, name)
                guard let entry = LocalEntry.stat(destination + "/" + path) else { continue }
                result[path] = DestinationEntry(
                    kind: entry.kind, mode: entry.mode, size: entry.size,
                    mtimeSeconds: entry.mtimeNanoseconds / 1_000_000_000, target: entry.target)
                if entry.kind == .directory { stack.append(path) }
            }
        }
        return result
    }

    public func hashes(of paths: [String]) async throws -> [String: String] {
        try await BlockingWork.run { cancelled in
            var result: [String: String] = [:]
            for path in paths where PathPolicy.isSafe(path) {
                try cancelled.check()
                if let digest = FileDigest.hexDigest(ofFile: destination + "/" + path) { result[path] = digest }
            }
            return result
        }
    }

    static func paths(of operation: SyncOperation) -> [String] {
        if case .rename(let from, let to) = operation { return [from, to] }
        return [operation.path]
    }

    static func error() -> String { String(cString: strerror(errno)) }
}
