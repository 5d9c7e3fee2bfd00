import Foundation
import Logging

/// Keeps a destination equal to the local tree: an initial reconcile, then every batch the watcher
/// reads is planned and shipped at once — no debounce: while one batch ships, the next one
/// accumulates, so bursts coalesce by themselves.
public actor SyncEngine {
    public nonisolated let transport: any SyncTransport
    public nonisolated let options: SyncOptions
    private let logger: Logger
    private var planner: SyncPlanner
    private var watcher: TreeWatcher?
    private let inbox = WatchInbox()
    private var loop: Task<Void, Never>?
    private var completedBarrier: UInt64 = 0
    private var waiters: [(token: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    private var needsReconcile = false
    /// The paths of failed batches, hashed by the next reconcile: an edit of the same size within the
    /// same second as the copy at the destination is invisible to size and mtime (seconds there).
    private var suspects: Set<String> = []
    /// After a failed reconcile, the next try (an edit must not be needed to ship the ones that failed).
    private var retry: Task<Void, Never>?
    private var retryBackoff = RetryBackoff(initial: .milliseconds(250), maximum: .seconds(1))
    private let tracing = TreeWatcher.tracing
    /// With DEVLOOP_TRACE_SYNC set: every batch's changes and operations, for debugging.
    var trace: [String] = []
    /// The last error a batch hit, if it has not recovered since.
    public private(set) var lastError: String?
    /// How many batches failed (each followed by a reconcile).
    public private(set) var failures = 0
    /// What each batch did, for the session's status line (bounded: a slow reader loses the oldest).
    public nonisolated let events: AsyncStream<SyncEvent>
    private nonisolated let announce: AsyncStream<SyncEvent>.Continuation

    public init(options: SyncOptions, transport: any SyncTransport, logger: Logger = Logger(label: "devloop.sync")) {
        self.options = options
        self.transport = transport
        self.logger = logger
        self.planner = SyncPlanner(
            root: options.source, rules: IgnoreRules(root: options.source, excludes: options.excludes), logger: logger)
        planner.maxFileSize = options.maxFileSize
        (events, announce) = AsyncStream.makeStream(of: SyncEvent.self, bufferingPolicy: .bufferingNewest(256))
    }

    /// Starts watching, then brings the destination in line (events during that are kept and
    /// processed after it). Returns what the initial sync shipped.
    @discardableResult
    public func start() async throws -> SyncBatch {
        let inbox = self.inbox
        let watcher = try TreeWatcher(root: options.source, excludes: options.excludes) { inbox.push($0) }
        try await watcher.start()
        let batch: SyncBatch
        do {
            batch = try await reconcile()
        } catch {
            await watcher.stop()
            throw error
        }
        self.watcher = watcher
        loop = Task { [weak self] in
            for await _ in inbox.signals {
                guard let self else { return }
                await self.process(inbox.takeAll())
            }
        }
        return batch
    }

    /// Number of directories watched.
    public var watchCount: Int { watcher?.watchCount ?? 0 }

    var watcherForTesting: TreeWatcher? { watcher }

    /// Returns once every change made before this call has been shipped.
    public func settle() async {
        guard let watcher else { return }
        let token = watcher.barrier()
        if completedBarrier >= token { return }
        await withCheckedContinuation { waiters.append((token, $0)) }
    }

    /// Stops watching and cancels the batch in flight (its transport call with it) instead of
    /// waiting for it: a frozen pod cannot hold a shutdown.
    public func stop() async {
        let watcher = self.watcher
        self.watcher = nil
        inbox.finish()
        loop?.cancel()
        retry?.cancel()
        await watcher?.stop()
        await loop?.value
        loop = nil
        await transport.close()
        for waiter in waiters { waiter.continuation.resume() }
        waiters = []
        announce.finish()
    }

    /// One full reconcile now (a replaced pod, `devloop sync`), announced as `reconciled`.
    @discardableResult
    public func resync() async throws -> SyncBatch {
        do {
            return try await reconcile()
        } catch {
            fail(error)
            needsReconcile = true
            throw error
        }
    }

    /// What a reconcile would ship now, without shipping it: `devloop sync --verify`.
    public func differences() async throws -> [SyncOperation] {
        return try await reconciler().plan(transport: transport).batch.operations
    }

    private func reconciler() -> Reconciler {
        var reconciler = Reconciler(
            root: options.source, rules: planner.rules, podOwnedPaths: options.podOwnedPaths,
            maxFileSize: options.maxFileSize)
        reconciler.suspects = suspects
        return reconciler
    }

    private func reconcile() async throws -> SyncBatch {
        let started = ContinuousClock.now
        let checked = suspects
        let plan = try await reconciler().plan(transport: transport)
        let batch = plan.batch
        for refusal in plan.refused { planner.report(refusal) }
        planner.index = plan.index
        try await transport.apply(batch)
        suspects.subtract(checked)
        needsReconcile = false
        lastError = nil
        retryBackoff.reset()
        announce.yield(.reconciled(SyncReport(batch, root: options.source, since: started)))
        return batch
    }

    private func process(_ batches: [WatchBatch]) async {
        guard !batches.isEmpty, !Task.isCancelled else { return }
        let changes = batches.flatMap(\.changes)
        if needsReconcile {
            do {
                _ = try await reconcile()
            } catch {
                fail(error)
            }
        } else if !changes.isEmpty {
            let started = ContinuousClock.now
            let batch = planner.plan(changes)
            if tracing { trace.append("changes \(changes)\nops \(batch.operations)") }
            if !batch.isEmpty {
                do {
                    try await apply(batch)
                    announce.yield(.shipped(SyncReport(batch, root: options.source, since: started)))
                } catch {
                    // Stopped meanwhile: the destination is compared again at the next start.
                    if Task.isCancelled { return }
                    // The destination may now differ from the index: compare it again.
                    suspects.formUnion(batch.operations.map(\.path))
                    fail(error)
                    needsReconcile = true
                    do { _ = try await reconcile() } catch { fail(error) }
                }
            }
        }
        if let token = batches.flatMap(\.barriers).max() { complete(token) }
    }

    /// Applies a planned batch. A rename the destination could not replay (its source was gone)
    /// ships its target as new right away: the batch converges without a reconcile.
    private func apply(_ batch: SyncBatch) async throws {
        let skipped = try await transport.apply(batch)
        for path in skipped { planner.index.remove(path) }
        let renamed = Set(batch.operations.compactMap { if case .rename(_, let to) = $0 { to } else { nil } })
        let lost = skipped.filter(renamed.contains)
        guard !lost.isEmpty else { return }
        let followUp = planner.plan(lost.map { .tree($0) })
        for path in try await transport.apply(followUp) { planner.index.remove(path) }
    }

    /// Counts every failure; announces one only when it differs from the last (the retries of an
    /// outage fail alike once a second).
    private func fail(_ error: any Error) {
        let text = "\(error)"
        failures += 1
        if text != lastError {
            announce.yield(.failed(text))
            logger.error("sync to \(transport.name) failed: \(text)")
        }
        lastError = text
        scheduleRetry()
    }

    /// The edits of a failed batch (the cluster away, the pod restarting) ship once a reconcile
    /// succeeds: it is tried again after a short back-off (1 s at most, one failing exec a second during
    /// an outage), not only at the next edit, which may never come.
    private func scheduleRetry() {
        guard retry == nil, let loop, !loop.isCancelled else { return }
        let delay = retryBackoff.next()
        retry = Task { [weak self] in
            try? await Task.sleep(for: delay)
            await self?.retryNow()
        }
    }

    private func retryNow() {
        retry = nil
        guard !Task.isCancelled, watcher != nil else { return }
        needsReconcile = true
        inbox.push(WatchBatch(changes: [], barriers: []))
    }

    private func complete(_ token: UInt64) {
        completedBarrier = max(completedBarrier, token)
        let ready = waiters.filter { $0.token <= completedBarrier }
        waiters.removeAll { $0.token <= completedBarrier }
        for waiter in ready { waiter.continuation.resume() }
    }
}

/// Hands batches from the watcher thread to the engine's task, which takes all that piled up.
final class WatchInbox: @unchecked Sendable {
    private let lock = NSLock()
    private var batches: [WatchBatch] = []
    let signals: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func push(_ batch: WatchBatch) {
        lock.withLock { batches.append(batch) }
        continuation.yield()
    }

    func takeAll() -> [WatchBatch] {
        lock.withLock {
            defer { batches = [] }
            return batches
        }
    }

    func finish() { continuation.finish() }
}
