import Foundation
import Synchronization

/// Keeps one container of a pod running as a kubelet does: starts instances, applies the restart policy
/// with back-off, runs its probes, and posts its status to the pod's board on every change. An init
/// container runs to success instead: it restarts only after a failure, and never under policy Never.
final class ContainerSupervisor: Sendable {
    let container: RuntimeContainer
    private let sandbox: PodSandbox
    private let board: PodStatusBoard
    private let slot: PodStatusBoard.Slot
    private let state: Mutex<State>
    /// (container, reason, message) of an event about this container.
    typealias Report = @Sendable (String, String, String) -> Void
    private let report: Report

    private struct State {
        var status: RuntimeContainerStatus
        /// The latest instance, running or exited.
        var current: ContainerInstance?
        /// The instance `status.lastState` describes.
        var previous: ContainerInstance?
        /// The log of the instance an earlier kubesim ran, until this one has a previous instance.
        var rebootedLog: ContainerLog?
        var stopGracePeriod: Duration?
        var loop: Task<Void, Never>?
    }

    /// `waitingFor` is the reason it waits before `launch` (kubelet: PodInitializing while init
    /// containers run).
    init(
        container: RuntimeContainer, slot: PodStatusBoard.Slot, sandbox: PodSandbox, board: PodStatusBoard,
        waitingFor reason: String = "ContainerCreating", report: @escaping Report = { _, _, _ in }
    ) {
        self.report = report
        self.container = container
        self.slot = slot
        self.sandbox = sandbox
        self.board = board
        let rebooted = RebootedInstance(folder: sandbox.containerDirectory(container.name))
        let status = RuntimeContainerStatus(
            name: container.name, containerID: "", ready: false, started: false,
            restartCount: rebooted.map { $0.number + 1 } ?? 0, state: .waiting(reason: reason, message: nil),
            lastState: rebooted?.lastState)
        self.state = Mutex(State(status: status, rebootedLog: rebooted.map { ContainerLog(finished: $0.logPath) }))
        board.post(status, at: slot)
    }

    func launch() {
        state.withLock { state in
            // Recorded under the lock it is created in: a stop() either finds this loop and waits for it, or
            // came first and nothing starts (a loop recorded after stop() looked would outlive it).
            guard state.stopGracePeriod == nil, state.loop == nil else { return }
            state.loop = Task { await self.run() }
        }
    }

    /// Runs the container until it ends for good; true when it ended with exit code 0.
    func runToCompletion() async -> Bool {
        launch()
        await state.withLock { $0.loop }?.value
        return state.withLock { state in
            if case .terminated(0, _, _, _, _) = state.status.state { state.stopGracePeriod == nil } else { false }
        }
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
                guard let log = state.previous?.log ?? state.rebootedLog else {
                    throw RuntimeError(
                        "previous terminated container \"\(container.name)\" in pod \"\(podName)\" not found")
                }
                return log
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
        var restarts = state.withLock { $0.status.restartCount }
        var backOffStep = 0
        while !isStopping {
            let instance: ContainerInstance
            do {
                instance = try await ContainerInstance.start(container, in: sandbox, restartCount: restarts)
            } catch {
                // The kubelet keeps the container waiting and tries again after a back-off, without a restart.
                let reason = (error as? RuntimeError)?.reason ?? "RunContainerError"
                update { $0.status.state = .waiting(reason: reason, message: "\(error)") }
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
            // A probe in flight (an exec probe is a sandbox of its own) ends before the container counts as gone.
            probes.cancel()
            await probes.value
            let finishedAt = Date()
            let terminated = instance.terminatedState(exitCode: exitCode, finishedAt: finishedAt)
            guard !isStopping, restartPolicyAllows(exitCode: exitCode) else {
                update {
                    $0.status.state = terminated
                    $0.status.ready = false
                    $0.status.started = false
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
                $0.rebootedLog = nil
                $0.status.lastState = terminated
                $0.status.ready = false
                $0.status.started = false
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
        if case .initContainer = slot { return sandbox.pod.restartPolicy != "Never" && exitCode != 0 }
        switch sandbox.pod.restartPolicy {
        case "Never": return false
        case "OnFailure": return exitCode != 0
        default: return true
        }
    }

    @discardableResult
    private func update<T>(_ change: (inout State) -> T) -> T {
        state.withLock { state in
            let result = change(&state)
            board.post(state.status, at: slot)
            return result
        }
    }

    private func probe(_ instance: ContainerInstance) async {
        let prober = Prober(sandbox: sandbox, container: container)
        await withTaskGroup(of: Void.self) { group in
            if let readiness = container.readinessProbe {
                group.addTask {
                    await prober.watch(readiness, while: instance) { failure in
                        self.report(self.container.name, "Unhealthy", "Readiness probe failed: \(failure)")
                    } changed: { ready in
                        self.update { state in
                            if state.current === instance, instance.isRunning { state.status.ready = ready }
                        }
                    }
                }
            }
            if let liveness = container.livenessProbe {
                let grace = Duration.seconds(sandbox.pod.terminationGracePeriodSeconds)
                group.addTask {
                    await prober.watch(liveness, while: instance, initial: true) { failure in
                        self.report(self.container.name, "Unhealthy", "Liveness probe failed: \(failure)")
                    } changed: { alive in
                        guard !alive else { return }
                        self.report(
                            self.container.name, "Killing",
                            "Container \(self.container.name) failed liveness probe, will be restarted")
                        await instance.terminate(gracePeriod: grace)
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

/// The last instance of a container that an earlier kubesim ran on the same state directory: its log
/// (`N.log`, N its restart count) is still in the container's folder. The restart count goes on from it
/// and `previous=true` reads it, as after a node reboot, where the kubelet reports the dead container
/// as terminated with exit code 255, reason Unknown.
struct RebootedInstance {
    let number: Int
    let logPath: String
    let lastState: RuntimeContainerStatus.State

    init?(folder: String) {
        let numbers = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).compactMap {
            $0.hasSuffix(".log") ? Int($0.dropLast(4)) : nil
        }
        guard let number = numbers.max() else { return nil }
        self.number = number
        logPath = folder + "/\(number).log"
        let records = ContainerLog.records(atPath: logPath)
        let written = (try? FileManager.default.attributesOfItem(atPath: logPath)[.modificationDate]) as? Date
        let finishedAt = written ?? Date()
        lastState = .terminated(
            exitCode: 255, signal: nil, reason: "Unknown", startedAt: records.first?.date ?? finishedAt,
            finishedAt: finishedAt)
    }
}
