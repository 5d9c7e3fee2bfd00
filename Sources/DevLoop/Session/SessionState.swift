import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `<root>/.devloop/session.json`: what `status` and `down` read. Never a credential.
public struct SessionState: Sendable, Codable, Equatable {
    public struct Timing: Sendable, Codable, Equatable {
        public var at: Date
        public var files: Int
        public var bytes: Int64
        public var milliseconds: Double
    }

    public struct RestartTiming: Sendable, Codable, Equatable {
        public var at: Date
        public var built: Bool
        public var buildMilliseconds: Double
        public var restartMilliseconds: Double
    }

    public struct Forward: Sendable, Codable, Equatable {
        public var address: String
        public var localPort: UInt16
        public var remotePort: String
    }

    /// The dev container's last restart by the kubelet (its process ended).
    public struct Crash: Sendable, Codable, Equatable {
        public var at: Date
        public var pod: String
        public var container: String
        public var exitCode: Int?
        public var reason: String?
        public var restartCount: Int
        /// Crashes since the container last served, this one included.
        public var streak: Int
        public var backingOff: Bool

        init(_ crash: ContainerCrash, at: Date) {
            self.at = at
            pod = crash.pod
            container = crash.container
            exitCode = crash.exitCode
            reason = crash.reason
            restartCount = crash.restartCount
            streak = crash.streak
            backingOff = crash.backingOff
        }
    }

    public struct PodInfo: Sendable, Codable, Equatable {
        public var name: String
        public var uid: String
        public var ready: Bool
    }

    public var pid: Int32
    public var startedAt: Date
    public var config: String
    public var cluster: ClusterSummary?
    public var namespace: String
    public var pod: PodInfo?
    public var transport: String?
    public var forwards: [Forward] = []
    public var lastSync: Timing?
    public var lastRestart: RestartTiming?
    public var lastCrash: Crash?
    /// Why the session is not serving right now (waiting for …), if so.
    public var phase: String = "starting"

    public init(pid: Int32, config: String, namespace: String) {
        self.pid = pid
        self.startedAt = Date()
        self.config = config
        self.namespace = namespace
    }

    static func directory(root: String) -> String { root + "/.devloop" }
    static func file(root: String) -> String { directory(root: root) + "/session.json" }

    public static func read(root: String) -> SessionState? {
        guard let data = FileManager.default.contents(atPath: file(root: root)) else { return nil }
        return try? decoder.decode(SessionState.self, from: data)
    }

    /// Atomically (rename over the old file), so a reader never sees half of it.
    func write(root: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try FileManager.default.createDirectory(atPath: Self.directory(root: root), withIntermediateDirectories: true)
        try encoder.encode(self).write(to: URL(fileURLWithPath: Self.file(root: root)), options: .atomic)
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

public enum SessionError: Error, Sendable, CustomStringConvertible {
    case alreadyRunning(pid: Int32, config: String)
    case cluster(String)
    case transport(String)
    case state(String)
    /// A forward whose container port the ready pod does not declare.
    case forward(String)

    public var description: String {
        switch self {
        case .alreadyRunning(let pid, let config):
            return "a devloop session for \(config) is already running (pid \(pid)); stop it with `devloop down`"
        case .cluster(let detail): return detail
        case .transport(let detail): return detail
        case .state(let detail): return detail
        case .forward(let detail): return detail
        }
    }
}

/// `<root>/.devloop/session.lock`, held with flock for the session's lifetime. The kernel drops the
/// lock when the process dies, so a lock file left by a crashed session is simply taken over.
public final class SessionLock: Sendable {
    private let descriptor: Int32
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    static func path(root: String) -> String { SessionState.directory(root: root) + "/session.lock" }

    public static func acquire(root: String, config: String) throws -> SessionLock {
        let path = path(root: root)
        try FileManager.default.createDirectory(
            atPath: SessionState.directory(root: root), withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SessionError.state("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let pid = holder(fd)
            close(fd)
            throw SessionError.alreadyRunning(pid: pid, config: config)
        }
        let text = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        return SessionLock(descriptor: fd, path: path)
    }

    /// The pid of the running session, or nil when none holds the lock.
    public static func runningSession(root: String) -> Int32? {
        let fd = open(path(root: root), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        return holder(fd)
    }

    private static func holder(_ fd: Int32) -> Int32 {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(fd, &buffer, 31, 0)
        return Int32(
            String(decoding: buffer.prefix(max(0, count)), as: UTF8.self).trimmingCharacters(
                in: .whitespacesAndNewlines)) ?? 0
    }

    public func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
