import Foundation

/// What happened to the dev pods, as the pod watch shows it.
public enum PodEvent: Sendable, Equatable {
    case added(Pod)
    /// Anything else changed (container state, restart count): progress while waiting.
    case changed(Pod)
    case ready(Pod)
    case notReady(Pod)
    case deleted(Pod)
    /// The pod that consumers act on is now another pod instance (the old one was deleted or replaced).
    case replaced(old: PodTarget, new: PodTarget)
}

/// Which pod a caller needs.
public enum PodRequirement: Sendable, Equatable {
    /// Ready and not terminating: forwards and requests.
    case ready
    /// Its container runs, ready or not: exec for sync and restart, which must work while the server builds.
    case running
}

public enum PodTrackerError: Error, Sendable, CustomStringConvertible {
    case timedOut(requirement: PodRequirement, selector: String, namespace: String, waited: Duration, state: String)
    case stopped(String)

    public var description: String {
        switch self {
        case .timedOut(let requirement, let selector, let namespace, let waited, let state):
            return "no \(requirement == .ready ? "ready" : "running") pod matching \(selector) in namespace "
                + "\(namespace) after \(waited): \(state)"
        case .stopped(let reason):
            return "the pod watch stopped: \(reason)"
        }
    }
}

/// Turns the pod watch of a label selector into "the current pod": it keeps every matching pod, hands
/// out the target consumers should act on (waiting for one, never polling), and publishes what changes.
public actor PodTracker: PodTargetSource {
    public nonisolated let namespace: String
    public nonisolated let selector: String
    public nonisolated let container: String?
    private let watcher: ResourceWatcher
    private var pods: [String: Pod] = [:]
    private var current: Pod?
    private var activeUID: String?
    private var waiters: [UUID: Waiter] = [:]
    private var subscribers: [UUID: AsyncStream<PodEvent>.Continuation] = [:]
    private var failure: String?

    private struct Waiter {
        var requirement: PodRequirement
        var continuation: CheckedContinuation<PodTarget, Error>
        var timeout: Task<Void, Never>?
    }

    /// `onHealth` hears when the watch loses the API server and when it has it back.
    public init(
        client: KubeClient, namespace: String, selector: String, container: String?,
        onHealth: (@Sendable (StreamHealth) -> Void)? = nil
    ) {
        self.namespace = namespace
        self.selector = selector
        self.container = container
        var watcher = ResourceWatcher(
            client: client, path: "/api/v1/namespaces/\(namespace)/pods", labelSelector: selector)
        watcher.onHealth = onHealth
        // The session's every stage follows this watch: after an outage it must be back within about
        // a second and a half of the API server, not at the end of a long back-off step.
        watcher.maximumRetryDelay = .milliseconds(1500)
        self.watcher = watcher
    }

    /// Follows the watch until cancelled (or until the watch fails for good, which is thrown).
    public func run() async throws {
        do {
            for try await event in watcher.events() { handle(event) }
            try Task.checkCancellation()
            stop(because: "cancelled")
        } catch {
            stop(because: "\(error)")
            throw error
        }
    }

    /// Every event from now on, plus `added` for the pods known already. Bounded: a slow reader loses
    /// the oldest events.
    public func subscribe() -> AsyncStream<PodEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: PodEvent.self, bufferingPolicy: .bufferingNewest(512))
        let id = UUID()
        for pod in pods.values { continuation.yield(.added(pod)) }
        subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in Task { await self?.unsubscribe(id) } }
        return stream
    }

    public var currentPod: Pod? { current }
    public var knownPods: [Pod] { pods.values.sorted { $0.creationTimestamp < $1.creationTimestamp } }

    /// The pod a waiting user should hear about: the newest one that is not terminating.
    public var newestPod: Pod? { pods.values.filter { $0.deletionTimestamp == nil }.max(by: Self.older) }

    public func readyTarget(within timeout: Duration) async throws -> PodTarget {
        try await target(.ready, within: timeout)
    }

    /// The target a `target(.running, …)` would hand out now, without waiting.
    public func runningTarget() -> PodTarget? { match(.running)?.target(container: container) }

    public func target(_ requirement: PodRequirement, within timeout: Duration) async throws -> PodTarget {
        if let pod = match(requirement) { return pod.target(container: container) }
        if let failure { throw PodTrackerError.stopped(failure) }
        let id = UUID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                let timer = Task { [weak self] in
                    guard (try? await Task.sleep(for: timeout)) != nil else { return }
                    await self?.expire(id, after: timeout)
                }
                waiters[id] = Waiter(requirement: requirement, continuation: continuation, timeout: timer)
            }
        } onCancel: {
            Task { await self.resume(id, with: .failure(CancellationError())) }
        }
    }

    private func match(_ requirement: PodRequirement) -> Pod? {
        switch requirement {
        case .ready: return current
        case .running:
            return current
                ?? pods.values.filter { pod in
                    pod.deletionTimestamp == nil && pod.status(of: container)?.state == .running
                }.max(by: Self.older)
        }
    }

    private static func older(_ a: Pod, _ b: Pod) -> Bool {
        (a.creationTimestamp, a.name) < (b.creationTimestamp, b.name)
    }

    private func handle(_ event: WatchEvent) {
        guard let pod = try? Pod(json: event.object) else { return }
        let old = pods[pod.uid]
        switch event.kind {
        case .added, .modified:
            pods[pod.uid] = pod
            if old == nil { publish(.added(pod)) }
            if (old?.isServing ?? false) != pod.isServing {
                publish(pod.isServing ? .ready(pod) : .notReady(pod))
            } else if let old, old != pod {
                publish(.changed(pod))
            }
        case .deleted:
            pods[pod.uid] = nil
            if old?.isServing == true { publish(.notReady(pod)) }
            publish(.deleted(pod))
        }
        reselect()
    }

    private func reselect() {
        if let kept = current.flatMap({ pods[$0.uid] }), kept.isServing {
            current = kept
        } else {
            current = pods.values.filter(\.isServing).max(by: Self.older)
        }
        if let active = match(.running) {
            if let previous = activeUID, previous != active.uid,
                let old = knownTarget(previous)
            {
                publish(.replaced(old: old, new: active.target(container: container)))
            }
            activeUID = active.uid
            lastTargets[active.uid] = active.target(container: container)
        }
        for (id, waiter) in waiters {
            if let pod = match(waiter.requirement) { resume(id, with: .success(pod.target(container: container))) }
        }
    }

    private var lastTargets: [String: PodTarget] = [:]

    private func knownTarget(_ uid: String) -> PodTarget? { lastTargets[uid] }

    private func publish(_ event: PodEvent) {
        for subscriber in subscribers.values { subscriber.yield(event) }
    }

    private func unsubscribe(_ id: UUID) { subscribers[id] = nil }

    private func expire(_ id: UUID, after timeout: Duration) {
        guard let waiter = waiters[id] else { return }
        let state = newestPod.map { "waiting for \($0.waitingFor)" } ?? "no pod matches the selector"
        resume(
            id,
            with: .failure(
                PodTrackerError.timedOut(
                    requirement: waiter.requirement, selector: selector, namespace: namespace, waited: timeout,
                    state: state)))
    }

    private func resume(_ id: UUID, with result: Result<PodTarget, Error>) {
        guard let waiter = waiters.removeValue(forKey: id) else { return }
        waiter.timeout?.cancel()
        waiter.continuation.resume(with: result)
    }

    private func stop(because reason: String) {
        failure = reason
        for id in Array(waiters.keys) { resume(id, with: .failure(PodTrackerError.stopped(reason))) }
        for subscriber in subscribers.values { subscriber.finish() }
        subscribers = [:]
    }
}

/// A `ContainerExecutor` that asks the tracker for the running pod on every call: sync and restart keep
/// working after the pod is replaced, with nothing rebuilt.
public struct TrackedExecutor: StreamingContainerExecutor {
    public let client: KubeClient
    public let tracker: PodTracker
    public var waitTimeout: Duration

    public init(client: KubeClient, tracker: PodTracker, waitTimeout: Duration = .seconds(30)) {
        self.client = client
        self.tracker = tracker
        self.waitTimeout = waitTimeout
    }

    public func run(_ command: [String], stdin: Data) async throws -> ExecResult {
        let target = try await tracker.target(.running, within: waitTimeout)
        return try await PodExec(client: client).run(
            ExecRequest(
                namespace: target.namespace, pod: target.name, container: target.container, command: command,
                stdin: stdin))
    }

    public func open(_ command: [String]) async throws -> any ContainerStream {
        try await openAhead(command).stream
    }

    public func openAhead(_ command: [String]) async throws -> StreamOpenedAhead {
        let target = try await tracker.target(.running, within: waitTimeout)
        let stream = try await PodExec(client: client).open(
            ExecRequest(namespace: target.namespace, pod: target.name, container: target.container, command: command))
        return StreamOpenedAhead(stream: stream) { [tracker] in await tracker.runningTarget()?.uid == target.uid }
    }
}
