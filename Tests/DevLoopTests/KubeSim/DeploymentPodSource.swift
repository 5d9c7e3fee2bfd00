import DevLoop
import Foundation

/// A test-local `PodTargetSource` that follows a Deployment's ready pod through a pod watch: a pod
/// counts while its Ready condition is True and it has no deletionTimestamp. Waiters wake on each
/// watch event (no polling).
final class DeploymentPodSource: PodTargetSource, @unchecked Sendable {
    private struct Tracked {
        var uid: String
        var ready: Bool
    }

    private let namespace: String
    private let lock = NSLock()
    private var pods: [String: Tracked] = [:]
    private var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    private var watch: Task<Void, Never>?

    init(client: KubeClient, namespace: String, selector: String) {
        self.namespace = namespace
        let watcher = ResourceWatcher(
            client: client, path: "/api/v1/namespaces/\(namespace)/pods", labelSelector: selector)
        watch = Task { [weak self] in
            do {
                for try await event in watcher.events() { self?.apply(event) }
            } catch {}
        }
    }

    func stop() { watch?.cancel() }

    private func apply(_ event: WatchEvent) {
        guard let name = event.object[path: "metadata", "name"]?.string else { return }
        let uid = event.object[path: "metadata", "uid"]?.string ?? ""
        let deleting = event.object[path: "metadata", "deletionTimestamp"] != nil
        let ready =
            !deleting
            && (event.object[path: "status", "conditions"]?.array ?? []).contains {
                $0["type"]?.string == "Ready" && $0["status"]?.string == "True"
            }
        lock.lock()
        if event.kind == .deleted { pods[name] = nil } else { pods[name] = Tracked(uid: uid, ready: ready) }
        let woken = Array(waiters.values)
        waiters = [:]
        lock.unlock()
        woken.forEach { $0.resume() }
    }

    /// The ready pods now (name → uid).
    var readyPods: [String: String] {
        lock.lock()
        defer { lock.unlock() }
        return pods.filter(\.value.ready).mapValues(\.uid)
    }

    /// Whether the watch has seen `name` go (deleted, or marked for deletion).
    func hasSeenLeave(of name: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return pods[name].map { !$0.ready } ?? true
    }

    /// Waits for the next watch event, at most `timeout`.
    func nextChange(within timeout: Duration) async {
        let id = UUID()
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.wake(id)
        }
        await withCheckedContinuation { continuation in
            lock.lock()
            waiters[id] = continuation
            lock.unlock()
        }
        timer.cancel()
    }

    private func wake(_ id: UUID) {
        lock.lock()
        let waiter = waiters.removeValue(forKey: id)
        lock.unlock()
        waiter?.resume()
    }

    func readyTarget(within timeout: Duration) async throws -> PodTarget {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let (name, uid) = readyPods.sorted(by: { $0.key < $1.key }).first {
                return PodTarget(namespace: namespace, name: name, uid: uid)
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw CancellationError() }
            await nextChange(within: left)
        }
    }
}
