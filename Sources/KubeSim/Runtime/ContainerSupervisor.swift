import Foundation
import Synchronization

/// Keeps one container of a pod running as a kubelet does: starts instances, applies the restart policy
/// with back-off, runs its probes, and posts its status to the pod's board on every change.
final class ContainerSupervisor: Sendable {
    let container: RuntimeContainer
    private let sandbox: PodSandbox
    private let board: PodStatusBoard
    private let index: Int
    private let state: Mutex<State>

    private struct State {
        var status: RuntimeContainerStatus
        /// The latest instance, running or exited.
        var current: ContainerInstance?
        /// The instance `status.lastState` describes.
        var previous: ContainerInstance?
        var stopGracePeriod: Duration?
        var loop: Task<Void, Never>?
    }

    init(container: RuntimeContainer, index: Int, sandbox: PodSandbox, board: PodStatusBoard) {
        self.container = container
        self.index = index
        self.sandbox = sandbox
        self.board = board
        let status = RuntimeContainerStatus(
            name: container.name, containerID: "", ready: false, started: false, restartCount: 0,
            state: .waiting(reason: "ContainerCreating", message: nil), lastState: nil)
        self.state = Mutex(State(status: status))
        board.post(status, at: index)
    }

    func launch() {
        let loop = Task { await self.run() }
        state.withLock { $0.loop = loop }
    }

    /// SIGTERM, then SIGKILL after `gracePeriod`; no restart follows. Returns when the container is gone.
    func stop(gracePeriod: Duration) async {
        let (loop, instance) = state.withLock { state in
            state.stopGracePeriod = gracePeriod
            return (state.loop, state.current)
        }
        loop?.cancel()
        if let instance, instance.isRunning { await instance.terminate(gracePeriod: gracePeriod) }
        await loop?.value
    }

    /// Fault injection: SIGKILL, as if the container crashed; the restart policy applies.
    func kill() {
        state.withLock { $0.current }?.kill()
    }

    var runningInstance: ContainerInstance? {
        state.withLock { $0.current }.flatMap { $0.isRunning ? $0 : nil }
    }

    /// The log of the current instance or, with `previous`, of the one `lastState` describes.
    func log(previous: Bool) throws -> ContainerLog {
        try state.withLock { state in
            let podName = "\(sandbox.pod.namespace)/\(sandbox.pod.name)"
            if previous {
                guard let instance = state.previous else {
                    throw RuntimeError(
                        "previous terminated container \"\(container.name)\" in pod \"\(podName)\" not found")
                }
                return instance.log
            }
            guard let instance = state.current else {
                var reason = "ContainerCreating"
                if case .waiting(let waiting, _) = state.status.state { reason = waiting }
                throw RuntimeError(
                    "container \"\(container.name)\" in pod \"\(podName)\" is waiting to start: \(reason)")
            }
            return instance.log
        }
    }

    private func run() async {
        var restarts = 0
        var backOffStep = 0
        while !isStopping {
            let instance: ContainerInstance
            do {
                instance = try await ContainerInstance.start(container, in: sandbox, restartCount: restarts)
            } catch {
                update { $0.status.state = .waiting(reason: "RunContainerError", message: "\(error)") }
                backOffStep += 1
                try? await Task.sleep(for: sandbox.settings.backOff(beforeRestart: backOffStep))
                continue
            }
            let stopRequested = update { state -> Duration? in
                state.current = instance
                state.status.containerID = instance.id
                state.status.restartCount = restarts
                state.status.state = .running(startedAt: instance.startedAt)
                state.status.started = true
                state.status.ready = container.readinessProbe == nil
                return state.stopGracePeriod
            }
            // stop() may have looked for the instance before it was recorded.
            if let stopRequested { await instance.terminate(gracePeriod: stopRequested) }
            let probes = Task { await self.probe(instance) }
            let exitCode = await instance.wait()
            probes.cancel()
            let finishedAt = Date()
            let terminated = RuntimeContainerStatus.State.terminated(
                exitCode: exitCode, signal: nil, reason: exitCode == 0 ? "Completed" : "Error",
                startedAt: instance.startedAt, finishedAt: finishedAt)
            guard !isStopping, restartPolicyAllows(exitCode: exitCode) else {
                update {
                    $0.status.state = terminated
                    $0.status.ready = false
                }
                return
            }
            // kubelet forgets the back-off once an instance ran for twice the longest delay.
            let settings = sandbox.settings
            if Duration.seconds(finishedAt.timeIntervalSince(instance.startedAt)) > settings.backOffMax * 2 {
                backOffStep = 0
            }
            let delay = settings.backOff(beforeRestart: backOffStep)
            backOffStep += 1
            restarts += 1
            update {
                $0.previous = instance
                $0.status.lastState = terminated
                $0.status.ready = false
                $0.status.state =
                    delay == .zero
                    ? terminated
                    : .waiting(
                        reason: "CrashLoopBackOff",
                        message: "back-off \(goDuration(delay)) restarting failed container=\(container.name) "
                            + "pod=\(sandbox.pod.name)_\(sandbox.pod.namespace)(\(sandbox.pod.uid))")
            }
            try? await Task.sleep(for: delay)
        }
    }

    private var isStopping: Bool { state.withLock { $0.stopGracePeriod != nil } }

    private func restartPolicyAllows(exitCode: Int32) -> Bool {
        switch sandbox.pod.restartPolicy {
        case "Never": false
        case "OnFailure": exitCode != 0
        default: true
        }
    }

    @discardableResult
    private func update<T>(_ change: (inout State) -> T) -> T {
        state.withLock { state in
            let result = change(&state)
            board.post(state.status, at: index)
            return result
        }
    }

    private func probe(_ instance: ContainerInstance) async {
        let prober = Prober(sandbox: sandbox, container: container)
        await withTaskGroup(of: Void.self) { group in
            if let readiness = container.readinessProbe {
                group.addTask {
                    await prober.watch(readiness, while: instance) { ready in
                        self.update { state in
                            if state.current === instance, instance.isRunning { state.status.ready = ready }
                        }
                    }
                }
            }
            if let liveness = container.livenessProbe {
                let grace = Duration.seconds(sandbox.pod.terminationGracePeriodSeconds)
                group.addTask {
                    await prober.watch(liveness, while: instance, initial: true) { alive in
                        if !alive { await instance.terminate(gracePeriod: grace) }
                    }
                }
            }
        }
    }
}

/// Go's rendering of a duration in kubelet messages: 10s, 1m20s, 5m0s.
func goDuration(_ duration: Duration) -> String {
    let seconds = duration.components.seconds
    return seconds < 60 ? "\(seconds)s" : "\(seconds / 60)m\(seconds % 60)s"
}
