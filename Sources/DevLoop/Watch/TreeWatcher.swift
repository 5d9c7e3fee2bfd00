import Foundation
import Glibc
import Logging

/// Watches a source tree with inotify, one watch per non-ignored directory, on a dedicated thread
/// that blocks in poll(): nothing runs while nothing changes. Everything readable is drained and
/// handed over as one batch, so a burst (a checkout, a formatter) coalesces by itself.
public final class TreeWatcher: @unchecked Sendable {
    /// How long a file written but not yet closed, or renamed away (an editor's backup step), may
    /// wait for its close or its replacement before it is reported anyway.
    public static let grace: Duration = .milliseconds(200)

    public let root: String
    private let sink: @Sendable (WatchBatch) -> Void
    /// Where a watch that could not be added is reported: the library never writes to stderr itself.
    private let logger: Logger
    private let inotify: Inotify
    /// A pipe whose read end `poll()` waits on next to inotify: how `barrier()` and `stop()` wake
    /// the thread.
    private let wakePipe: (read: Int32, write: Int32)
    private let control = NSLock()
    private var requestedBarriers: [UInt64] = []
    private var lastBarrier: UInt64 = 0
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// Held while events are read and handled; tests hold it to pile events up (queue overflow).
    let readGate = NSLock()
    private var overflowCount = 0
    /// With DEVLOOP_TRACE_SYNC set, the watched directories after each batch (for debugging
    /// tests: compare with the tree).
    var watchedSnapshot: Set<String> { control.withLock { watchedDirectories } }
    private var watchedDirectories = Set<String>()
    static let tracing = getenv("DEVLOOP_TRACE_SYNC") != nil
    /// The kernel's id of the watcher thread, for measuring its CPU time in /proc.
    var threadID: Int? { control.withLock { watcherThreadID } }
    private var watcherThreadID: Int?

    // Confined to the watcher thread once it runs.
    let rules: IgnoreRules
    var pathOf: [Int32: String] = [:]
    var wdOf: [String: Int32] = [:]
    var pendingClose: [String: ContinuousClock.Instant] = [:]
    var deferredRemoval: [String: ContinuousClock.Instant] = [:]
    var movesFrom: [UInt32: (path: String, isDirectory: Bool, slot: Int)] = [:]
    var changes: [WatchChange?] = []
    /// A new directory vanished under its name before it was watched (an ancestor was renamed):
    /// rebuild the watches once the drain is handled.
    var watchesStale = false

    /// Number of directories watched.
    public var watchCount: Int { control.withLock { watched } }
    private var watched = 0

    /// How many times events were lost or rules changed and the whole tree was compared again.
    public var rescans: Int { control.withLock { overflowCount } }

    public init(
        root: String, excludes: [String] = [], logger: Logger = Logger(label: "devloop.watch"),
        sink: @escaping @Sendable (WatchBatch) -> Void
    ) throws(WatchError) {
        self.root = root
        self.sink = sink
        self.logger = logger
        self.rules = IgnoreRules(root: root, excludes: excludes)
        self.inotify = try Inotify()
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw WatchError.from(errno: errno, operation: "pipe") }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        self.wakePipe = (fds[0], fds[1])
    }

    deinit {
        close(wakePipe.read)
        close(wakePipe.write)
    }

    /// Counts the directories against the watch budget, watches them all, then starts the thread.
    /// The walk is blocking work: it runs off the cooperative threads.
    public func start() async throws(WatchError) {
        do {
            try await BlockingWork.run { _ in try self.startWatching() }
        } catch let error as WatchError {
            throw error
        } catch {
            throw WatchError.from(errno: ECANCELED, operation: "watch start")
        }
    }

    private func startWatching() throws(WatchError) {
        try WatchBudget.check(directories: TreeWalker.directories(root: root, rules: rules).count)
        try watchTree("")
        watched = wdOf.count
        let thread = Thread { [self] in run() }
        thread.stackSize = 1 << 20
        thread.name = "devloop-watcher"
        self.thread = thread
        thread.start()
    }

    /// Asks for a batch covering every change made before this call; returns its token.
    public func barrier() -> UInt64 {
        control.lock()
        lastBarrier += 1
        let token = lastBarrier
        requestedBarriers.append(token)
        control.unlock()
        wake()
        return token
    }

    /// Stops the thread and waits for it (off the cooperative threads): it exits as soon as the
    /// batch it is handling, if any, is handed over.
    public func stop() async {
        let running = control.withLock {
            defer { stopping = true }
            return thread != nil && !stopping
        }
        guard running else { return }
        wake()
        let finished = self.finished
        await BlockingWork.run { finished.wait() }
        // The thread's closure holds this watcher: let go of it, and of the kernel's watches now.
        thread = nil
        inotify.close()
    }

    private func wake() {
        var one: UInt8 = 1
        _ = write(wakePipe.write, &one, 1)
    }

    private func run() {
        defer { finished.signal() }
        let threadSelf = LocalEntry.readLink("/proc/thread-self") ?? ""
        control.withLock { watcherThreadID = Int(threadSelf.split(separator: "/").last ?? "") }
        var fds = [
            pollfd(fd: inotify.fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            _ = poll(&fds, 2, pollTimeout())
            var scratch = [UInt8](repeating: 0, count: 64)
            while read(wakePipe.read, &scratch, 64) > 0 {}
            control.lock()
            let tokens = requestedBarriers
            requestedBarriers = []
            let stop = stopping
            control.unlock()
            if stop { return }
            // Barriers are taken before draining: events of earlier changes are already queued.
            readGate.lock()
            let events = inotify.drain()
            handle(events)
            flushDeferred(all: !tokens.isEmpty)
            let batch = changes.compactMap { $0 }
            changes = []
            readGate.unlock()
            let count = wdOf.count
            let snapshot = Self.tracing ? Set(wdOf.keys) : []
            control.withLock {
                watchedDirectories = snapshot
                watched = count
                if batch.contains(.rescan) { overflowCount += 1 }
            }
            if !batch.isEmpty || !tokens.isEmpty { sink(WatchBatch(changes: batch, barriers: tokens)) }
        }
    }

    private func pollTimeout() -> Int32 {
        guard let soonest = (Array(pendingClose.values) + Array(deferredRemoval.values)).min() else { return -1 }
        let left = ContinuousClock.now.duration(to: soonest)
        if left <= .zero { return 0 }
        return Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
    }

    private func flushDeferred(all: Bool) {
        let now = ContinuousClock.now
        for (path, deadline) in pendingClose where all || deadline <= now {
            pendingClose[path] = nil
            changes.append(.path(path))
        }
        for (path, deadline) in deferredRemoval where all || deadline <= now {
            deferredRemoval[path] = nil
            changes.append(.path(path))
        }
    }

    // MARK: Watches

    /// Watches one directory; false when it is not there (any more) under that name.
    @discardableResult
    func watch(_ directory: String) throws(WatchError) -> Bool {
        guard let wd = try inotify.addWatch(directory.isEmpty ? root : root + "/" + directory) else { return false }
        if let old = pathOf[wd], old != directory { wdOf[old] = nil }
        pathOf[wd] = directory
        wdOf[directory] = wd
        return true
    }

    /// Watches a directory and every directory below it. Each watch is added before its directory
    /// is listed, so a subdirectory created meanwhile is either listed or reported by an event.
    func watchTree(_ directory: String) throws(WatchError) {
        var stack = [directory]
        while let next = stack.popLast() {
            let absolute = next.isEmpty ? root : root + "/" + next
            // Gone under this name: an ancestor was renamed meanwhile (or it was deleted); the
            // watches are rebuilt after the drain, when the rename has been seen.
            guard try watch(next) else {
                watchesStale = true
                continue
            }
            guard let entries = DirectoryReader.listing(of: absolute) else {
                // Renamed between the watch and the listing: forget the half-done directory, so
                // that its rename event walks it again under the new name.
                if let wd = wdOf.removeValue(forKey: next) { pathOf[wd] = nil }
                watchesStale = true
                continue
            }
            for (name, kind) in entries where kind == .directory {
                let path = DirectoryReader.join(next, name)
                if !rules.isExcluded(path, isDirectory: true) { stack.append(path) }
            }
        }
    }

    /// Watches a directory that just appeared. When it is already gone under that name, an
    /// ancestor was most likely renamed after the event was queued: the watches are rebuilt once
    /// the whole drain is handled.
    func watchNewTree(_ directory: String) {
        do {
            try watchTree(directory)
        } catch {
            reportBudget(error)
        }
    }

    func unwatchTree(_ directory: String, removeFromKernel: Bool) {
        for (path, wd) in wdOf where path == directory || path.hasPrefix(directory + "/") {
            if removeFromKernel { inotify.removeWatch(wd) }
            wdOf[path] = nil
            pathOf[wd] = nil
        }
    }

    func repathTree(from: String, to: String) {
        for (path, wd) in wdOf where path == from || path.hasPrefix(from + "/") {
            let moved = to + path.dropFirst(from.count)
            wdOf[path] = nil
            wdOf[moved] = wd
            pathOf[wd] = moved
        }
        // Changes held back for files below the directory now belong to the new name.
        for (path, deadline) in pendingClose where path == from || path.hasPrefix(from + "/") {
            pendingClose[path] = nil
            pendingClose[to + path.dropFirst(from.count)] = deadline
        }
        for (path, deadline) in deferredRemoval where path == from || path.hasPrefix(from + "/") {
            deferredRemoval[path] = nil
            deferredRemoval[to + path.dropFirst(from.count)] = deadline
        }
    }

    /// Rebuilds every watch from the tree as it is now: after an overflow or an ignore-rule change.
    /// Returns the directories that were not watched before, topmost first.
    @discardableResult
    func rewatchAll() -> [String] {
        rules.invalidateAll()
        let old = pathOf
        pathOf = [:]
        wdOf = [:]
        do { try watchTree("") } catch { reportBudget(error) }
        for wd in old.keys where pathOf[wd] == nil { inotify.removeWatch(wd) }
        let added = pathOf.filter { old[$0.key] == nil }.map(\.value).sorted()
        var topmost: [String] = []
        for path in added where !topmost.contains(where: { path.hasPrefix($0 + "/") }) { topmost.append(path) }
        return topmost
    }

    private func reportBudget(_ error: WatchError) {
        logger.error("some directories are not watched: \(error)", metadata: ["root": "\(root)"])
    }
}
