import Foundation
import Glibc

/// File operations on the destination that never follow symlinks out of it.
enum FileTree {
    nonisolated(unsafe) private static var counter: UInt64 = 0
    private static let counterLock = NSLock()

    static func temporaryName(for target: String) -> String {
        let parent = DestinationIndex.split(target).parent
        let n = counterLock.withLock { () -> UInt64 in
            counter += 1
            return counter
        }
        // A name of its own, not the target's plus a suffix: a 255-byte name has no room for one.
        return "\(parent)/.devloop-tmp-\(getpid())-\(n)"
    }

    /// `rm -rf`: removes a file, a symlink (not what it points to) or a directory tree.
    static func remove(_ path: String) throws {
        if unlink(path) == 0 || errno == ENOENT { return }
        guard errno == EISDIR || errno == EPERM else {
            throw SyncTransportError("remove \(path): \(String(cString: strerror(errno)))")
        }
        for (name, _) in DirectoryReader.entries(of: path) { try remove(path + "/" + name) }
        if rmdir(path) != 0 && errno != ENOENT {
            throw SyncTransportError("remove \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Renames `temporary` over `target`, clearing a directory that stands in the way.
    static func replace(_ target: String, with temporary: String) throws {
        if rename(temporary, target) == 0 { return }
        if errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST {
            try remove(target)
            if rename(temporary, target) == 0 { return }
        }
        let message = String(cString: strerror(errno))
        unlink(temporary)
        throw SyncTransportError("rename into \(target): \(message)")
    }

    /// Copies `source` to a temporary name next to `target` with `mode` and the source's mtime,
    /// then renames it into place. A source that vanished meanwhile is skipped: its deletion is
    /// on its way as another change.
    static func copyAtomically(from source: String, to target: String, mode: UInt32) throws -> Bool {
        let input = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if input < 0 {
            if errno == ENOENT || errno == ELOOP || errno == ENOTDIR { return false }
            throw SyncTransportError("open \(source): \(String(cString: strerror(errno)))")
        }
        defer { close(input) }
        var st = stat()
        fstat(input, &st)
        let temporary = temporaryName(for: target)
        let output = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard output >= 0 else {
            throw SyncTransportError("create \(temporary): \(String(cString: strerror(errno)))")
        }
        do {
            try copyContent(from: input, to: output, size: Int(st.st_size))
            fchmod(output, mode_t(mode))
            var times = [st.st_atim, st.st_mtim]
            futimens(output, &times)
            close(output)
        } catch {
            close(output)
            unlink(temporary)
            throw error
        }
        try replace(target, with: temporary)
        return true
    }

    private static func copyContent(from input: Int32, to output: Int32, size: Int) throws {
        var buffer = [UInt8](repeating: 0, count: min(max(size, 4096), 1 << 18))
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count == 0 { return }
            guard count > 0 else { throw SyncTransportError("read: \(String(cString: strerror(errno)))") }
            var written = 0
            while written < count {
                let n = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, count - written) }
                guard n > 0 else { throw SyncTransportError("write: \(String(cString: strerror(errno)))") }
                written += n
            }
        }
    }
}
