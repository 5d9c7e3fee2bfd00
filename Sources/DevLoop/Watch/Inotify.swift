import Foundation
import Glibc

/// One decoded `struct inotify_event`.
struct InotifyEvent {
    var wd: Int32
    var mask: UInt32
    var cookie: UInt32
    var name: String

    func has(_ flag: Int32) -> Bool { mask & UInt32(bitPattern: flag) != 0 }
}

/// A non-blocking inotify instance: one watch per directory, events read in bulk.
final class Inotify {
    static let directoryMask: UInt32 = {
        let flags: [Int32] = [
            IN_CLOSE_WRITE, IN_MODIFY, IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MOVED_FROM, IN_MOVED_TO,
            IN_ATTRIB, IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK,
        ]
        return flags.reduce(UInt32(0)) { $0 | UInt32(bitPattern: $1) }
    }()

    private(set) var fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)

    init() throws(WatchError) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw WatchError.from(errno: errno, operation: "inotify_init1") }
        self.fd = fd
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Adds a watch for the directory at `path`; nil when it vanished or is not a directory.
    func addWatch(_ path: String) throws(WatchError) -> Int32? {
        let wd = inotify_add_watch(fd, path, Self.directoryMask)
        if wd >= 0 { return wd }
        switch errno {
        case ENOENT, ENOTDIR, EACCES, ELOOP: return nil
        default: throw WatchError.from(errno: errno, operation: "inotify_add_watch \(path)")
        }
    }

    func removeWatch(_ wd: Int32) {
        _ = inotify_rm_watch(fd, wd)
    }

    /// Reads every event queued right now; empty when none.
    func drain() -> [InotifyEvent] {
        var events: [InotifyEvent] = []
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            buffer.withUnsafeBytes { events += Self.decode(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
        }
        return events
    }

    /// The events in what one read returned. The kernel returns whole events only; a record that
    /// claims more bytes than there are ends the decoding instead of reading past the buffer.
    static func decode(_ raw: UnsafeRawBufferPointer) -> [InotifyEvent] {
        var events: [InotifyEvent] = []
        var offset = 0
        while offset + 16 <= raw.count {
            let wd = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let cookie = raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
            let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            guard length <= raw.count - offset - 16 else { break }
            let nameBytes = raw[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }
            events.append(
                InotifyEvent(wd: wd, mask: mask, cookie: cookie, name: String(decoding: nameBytes, as: UTF8.self)))
            offset += 16 + length
        }
        return events
    }
}

/// Why watching failed, phrased for the user.
public enum WatchError: Error, CustomStringConvertible, Equatable {
    /// The tree needs more inotify watches than the system allows.
    case watchBudget(needed: Int, limit: Int)
    /// Too many inotify instances for this user.
    case instanceBudget(limit: Int)
    case system(operation: String, errno: Int32)

    static func from(errno code: Int32, operation: String) -> WatchError {
        switch code {
        case ENOSPC: return .watchBudget(needed: 0, limit: WatchBudget.limit(of: "max_user_watches") ?? 0)
        case EMFILE: return .instanceBudget(limit: WatchBudget.limit(of: "max_user_instances") ?? 0)
        default: return .system(operation: operation, errno: code)
        }
    }

    public var description: String {
        switch self {
        case .watchBudget(let needed, let limit):
            let want = max(needed * 2, limit * 2, 524_288)
            let count = needed > 0 ? "\(needed) directories to watch but " : "out of inotify watches: "
            return "\(count)fs.inotify.max_user_watches is \(limit). "
                + "Raise it with: sudo sysctl fs.inotify.max_user_watches=\(want) "
                + "(or add more paths to .devloopignore)"
        case .instanceBudget(let limit):
            return "out of inotify instances: fs.inotify.max_user_instances is \(limit). "
                + "Raise it with: sudo sysctl fs.inotify.max_user_instances=\(max(limit * 2, 512))"
        case .system(let operation, let code):
            return "\(operation) failed: \(String(cString: strerror(code)))"
        }
    }
}

/// The watch budget preflight: does the tree fit into `fs.inotify.max_user_watches`?
public enum WatchBudget {
    public static func limit(of name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/sys/fs/inotify/\(name)", encoding: .utf8) else {
            return nil
        }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Throws `WatchError.watchBudget` when `directories` watches cannot fit under `limit`.
    public static func check(directories: Int, limit: Int? = limit(of: "max_user_watches")) throws(WatchError) {
        guard let limit, directories > limit else { return }
        throw WatchError.watchBudget(needed: directories, limit: limit)
    }
}
