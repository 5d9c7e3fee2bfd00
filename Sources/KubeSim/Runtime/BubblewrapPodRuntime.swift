import Foundation
import Synchronization

/// kubesim's kubelet: each pod gets a network namespace of its own (loopback up, shared by its
/// containers), each container is a local process tree under bubblewrap whose root is built from the
/// host's folders read-only, with the pod's volumes bound in. Nothing outlives kubesim: every sandbox
/// has the parent-death signal, and a sandbox's init takes its processes down with it.
///
/// Creating one changes two things for the whole process: SIGPIPE is ignored, and the process becomes
/// its descendants' child subreaper (it reaps the sandbox inits it adopts).
public final class BubblewrapPodRuntime: PodRuntime {
    public let statusUpdates: AsyncStream<(uid: String, status: RuntimePodStatus)>
    public let containerEvents: AsyncStream<RuntimeContainerEvent>
    private let events: AsyncStream<RuntimeContainerEvent>.Continuation
    private let updates: AsyncStream<(uid: String, status: RuntimePodStatus)>.Continuation
    private let configuration: BubblewrapRuntimeConfiguration
    private let pods = Mutex<[String: Entry]>([:])
    /// Set by `shutdown`: a start after it is refused, one in progress stops its pod keeping the files.
    private let isShutDown = Mutex(false)

    private enum Entry {
        /// The sandbox is being created; a stop arriving meanwhile is remembered here.
        case starting(stopRequested: Bool)
        case running(RunningPod)
    }

    public init(configuration: BubblewrapRuntimeConfiguration) {
        // kubesim writes to pipes whose reader may be gone (an exec'd command that exited): that must be
        // an EPIPE error, not a signal that ends kubesim. Pod processes get the default back.
        signal(SIGPIPE, SIG_IGN)
        SandboxProcess.adoptOrphans()
        self.configuration = configuration
        (statusUpdates, updates) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        (containerEvents, events) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
    }

    deinit {
        updates.finish()
        events.finish()
    }

    public func start(_ pod: RuntimePod) async throws {
        try validate(pod)
        try pods.withLock { pods in
            guard !isShutDown.withLock({ $0 }) else {
                throw RuntimeError("pod \(pod.namespace)/\(pod.name) not started: kubesim is stopping")
            }
            guard pods[pod.uid] == nil else {
                throw RuntimeError("pod \(pod.namespace)/\(pod.name) (uid \(pod.uid)) already runs")
            }
            pods[pod.uid] = .starting(stopRequested: false)
        }
        let sandbox: PodSandbox
        do {
            sandbox = try await PodSandbox.start(pod, settings: configuration)
        } catch {
            _ = pods.withLock { $0.removeValue(forKey: pod.uid) }
            throw error
        }
        let updates = self.updates
        let board = PodStatusBoard(
            containers: pod.containers.count, initContainers: pod.initContainers.count,
            restartPolicy: pod.restartPolicy, startTime: Date()
        ) {
            updates.yield((uid: pod.uid, status: $0))
        }
        let waitingFor = pod.initContainers.isEmpty ? "ContainerCreating" : "PodInitializing"
        let events = self.events
        let report: ContainerSupervisor.Report = { container, reason, message in
            events.yield(
                RuntimeContainerEvent(
                    uid: pod.uid, container: container, reason: reason, message: message, warning: true))
        }
        let running = RunningPod(
            sandbox: sandbox, board: board, execs: ExecProcessSet(),
            initSupervisors: pod.initContainers.enumerated().map {
                ContainerSupervisor(
                    container: $0.element, slot: .initContainer($0.offset), sandbox: sandbox, board: board,
                    report: report)
            },
            supervisors: pod.containers.enumerated().map {
                ContainerSupervisor(
                    container: $0.element, slot: .container($0.offset), sandbox: sandbox, board: board,
                    waitingFor: waitingFor, report: report)
            })
        let stopRequested = pods.withLock { pods in
            guard case .starting(let stopRequested) = pods[pod.uid] else { return true }
            if !stopRequested { pods[pod.uid] = .running(running) }
            return stopRequested
        }
        if stopRequested {
            // The entry stays until the pod is stopped: shutdown waits for it.
            await running.stop(gracePeriod: .zero, keepFiles: isShutDown.withLock { $0 })
            _ = pods.withLock { $0.removeValue(forKey: pod.uid) }
            return
        }
        running.launch()
    }

    public func stop(uid: String, gracePeriodSeconds: Int) async {
        let running = pods.withLock { pods -> RunningPod? in
            switch pods[uid] {
            case .starting:
                pods[uid] = .starting(stopRequested: true)
                return nil
            case .running(let running):
                pods[uid] = nil
                return running
            case nil:
                return nil
            }
        }
        await running?.stop(gracePeriod: .seconds(max(0, gracePeriodSeconds)))
    }

    public func logLines(uid: String, container: String, previous: Bool, follow: Bool) throws -> AsyncStream<
        ContainerLogLine
    > {
        let log = try supervisor(uid: uid, container: container).log(previous: previous)
        return log.lines(follow: follow && !previous)
    }

    public func exec(uid: String, container: String, command: [String], tty: Bool) async throws -> any ExecProcess {
        let supervisor = try supervisor(uid: uid, container: container)
        guard let instance = supervisor.runningInstance else {
            throw RuntimeError("container \"\(container)\" in pod with uid \(uid) is not running")
        }
        let running = try runningPod(uid: uid)
        let process = try await BubblewrapExecProcess.start(
            command, in: supervisor.container, instance: instance, sandbox: running.sandbox, tty: tty)
        running.execs.track(process)
        return process
    }

    public func dial(uid: String, port: Int) async throws -> Int32 {
        try await sandbox(uid: uid).dialer.connect(port: port)
    }

    public func killContainer(uid: String, container: String) async {
        try? supervisor(uid: uid, container: container).kill()
    }

    public func shutdown() async {
        let all = pods.withLock { pods -> [RunningPod] in
            isShutDown.withLock { $0 = true }
            var all: [RunningPod] = []
            for (uid, entry) in pods {
                switch entry {
                case .running(let running):
                    all.append(running)
                    pods[uid] = nil
                case .starting:
                    // Its start stops it once the sandbox exists; waited for below.
                    pods[uid] = .starting(stopRequested: true)
                }
            }
            return all
        }
        await withTaskGroup(of: Void.self) { group in
            // A node going down: the pods' folders (logs, emptyDirs, homes) stay for the next kubesim on
            // this state directory, which starts the same pods again, as a kubelet does after a reboot.
            for running in all { group.addTask { await running.stop(gracePeriod: .zero, keepFiles: true) } }
        }
        // A pod still starting is gone once its entry is: its start removes it after stopping the pod (a
        // sandbox start is bounded, so is this wait).
        while pods.withLock({ !$0.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The pod's current status, as last published.
    public func status(uid: String) -> RuntimePodStatus? {
        guard case .running(let running) = pods.withLock({ $0[uid] }) else { return nil }
        return running.board.current
    }

    private func runningPod(uid: String) throws -> RunningPod {
        guard case .running(let running) = pods.withLock({ $0[uid] }) else {
            throw RuntimeError("no running pod with uid \(uid)")
        }
        return running
    }

    private func sandbox(uid: String) throws -> PodSandbox {
        try runningPod(uid: uid).sandbox
    }

    private func supervisor(uid: String, container: String) throws -> ContainerSupervisor {
        let running = try runningPod(uid: uid)
        guard
            let supervisor = (running.initSupervisors + running.supervisors).first(where: {
                $0.container.name == container
            })
        else {
            let pod = running.sandbox.pod
            throw RuntimeError("container \"\(container)\" is not valid for pod \"\(pod.namespace)/\(pod.name)\"")
        }
        return supervisor
    }

    /// Rejects what would only fail later, inside the sandbox.
    private func validate(_ pod: RuntimePod) throws {
        guard !pod.containers.isEmpty else { throw RuntimeError("pod \(pod.namespace)/\(pod.name) has no containers") }
        var names = Set<String>()
        for container in pod.initContainers + pod.containers {
            guard names.insert(container.name).inserted else {
                throw RuntimeError(
                    "pod \(pod.namespace)/\(pod.name): container name \"\(container.name)\" is used twice")
            }
            for mount in container.volumeMounts where !pod.volumes.contains(where: { $0.name == mount.name }) {
                throw RuntimeError(
                    "pod \(pod.namespace)/\(pod.name): container \"\(container.name)\" mounts volume \"\(mount.name)\", which the pod does not declare"
                )
            }
        }
    }
}

/// A started pod: its sandbox, its containers' supervisors, its status board and its exec processes.
struct RunningPod: Sendable {
    var sandbox: PodSandbox
    var board: PodStatusBoard
    var execs: ExecProcessSet
    var initSupervisors: [ContainerSupervisor]
    var supervisors: [ContainerSupervisor]

    /// The init containers one after the other, each to success, then the containers.
    func launch() {
        Task {
            for initSupervisor in initSupervisors {
                guard await initSupervisor.runToCompletion() else { return }
            }
            for supervisor in supervisors { supervisor.launch() }
        }
    }

    /// Stops the containers in parallel, then the exec processes and the sandbox; removes the pod's files
    /// unless `keepFiles` (kubesim stops, the pod does not).
    func stop(gracePeriod: Duration, keepFiles: Bool = false) async {
        board.close()
        await execs.terminateAll()
        await withTaskGroup(of: Void.self) { group in
            for supervisor in initSupervisors + supervisors {
                group.addTask { await supervisor.stop(gracePeriod: gracePeriod) }
            }
        }
        await sandbox.stop()
        if !keepFiles { sandbox.removeFiles() }
    }
}

/// The exec processes of a pod still running, killed with the pod.
final class ExecProcessSet: Sendable {
    private let processes = Mutex<[ObjectIdentifier: BubblewrapExecProcess]>([:])

    func track(_ process: BubblewrapExecProcess) {
        let key = ObjectIdentifier(process)
        processes.withLock { $0[key] = process }
        Task {
            _ = await process.wait()
            _ = processes.withLock { $0.removeValue(forKey: key) }
        }
    }

    func terminateAll() async {
        let running = processes.withLock { Array($0.values) }
        for process in running { process.terminate() }
        for process in running { _ = await process.wait() }
    }
}
