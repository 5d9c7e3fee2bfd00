import Foundation

// The contract between kubesim's API server (objects, controllers, HTTP) and its kubelet runtime
// (pods as local processes). The server converts Pod JSON to `RuntimePod`, hands it to the runtime,
// and turns the `RuntimePodStatus` updates back into `pod.status`.

/// What the runtime needs from a Pod spec; everything else in the object is the server's business.
public struct RuntimePod: Sendable, Equatable {
    public var uid: String
    public var namespace: String
    public var name: String
    public var containers: [RuntimeContainer]
    /// Run one after the other, each to success, before `containers` start (`spec.initContainers`).
    public var initContainers: [RuntimeContainer]
    public var volumes: [RuntimeVolume]
    /// "Always", "OnFailure" or "Never".
    public var restartPolicy: String
    public var terminationGracePeriodSeconds: Int

    public init(
        uid: String, namespace: String, name: String, containers: [RuntimeContainer],
        initContainers: [RuntimeContainer] = [], volumes: [RuntimeVolume] = [], restartPolicy: String = "Always",
        terminationGracePeriodSeconds: Int = 30
    ) {
        self.uid = uid
        self.namespace = namespace
        self.name = name
        self.containers = containers
        self.initContainers = initContainers
        self.volumes = volumes
        self.restartPolicy = restartPolicy
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
    }
}

/// Who a container's processes run as (securityContext runAsUser, runAsGroup, the pod's fsGroup).
public struct RuntimeUser: Sendable, Equatable {
    public var uid: Int
    public var gid: Int
    public var groups: [Int]

    public init(uid: Int, gid: Int, groups: [Int] = []) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }
}

public struct RuntimeContainer: Sendable, Equatable {
    /// nil: root, as an image without a USER runs.
    public var user: RuntimeUser?
    public var name: String
    /// The image is recorded but never used: the host's filesystem is the root.
    public var image: String
    public var command: [String]
    public var args: [String]
    public var env: [String: String]
    public var workingDir: String?
    public var volumeMounts: [RuntimeVolumeMount]
    public var readinessProbe: RuntimeProbe?
    public var livenessProbe: RuntimeProbe?

    public init(
        name: String, image: String = "", command: [String] = [], args: [String] = [],
        env: [String: String] = [:], workingDir: String? = nil, volumeMounts: [RuntimeVolumeMount] = [],
        readinessProbe: RuntimeProbe? = nil, livenessProbe: RuntimeProbe? = nil
    ) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
        self.env = env
        self.workingDir = workingDir
        self.volumeMounts = volumeMounts
        self.readinessProbe = readinessProbe
        self.livenessProbe = livenessProbe
    }
}

public struct RuntimeVolume: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case hostPath(String)
        case emptyDir
        /// configMap, secret, projected and downwardAPI volumes: files the kubelet wrote, mounted read-only.
        case files([RuntimeFile])
    }
    public var name: String
    public var source: Source

    public init(name: String, source: Source) {
        self.name = name
        self.source = source
    }
}

/// A file of a configMap, secret, projected or downwardAPI volume: its path inside the volume, its
/// contents and its mode.
public struct RuntimeFile: Sendable, Equatable {
    public var path: String
    public var contents: Data
    public var mode: Int

    public init(path: String, contents: Data, mode: Int = 0o644) {
        self.path = path
        self.contents = contents
        self.mode = mode
    }
}

public struct RuntimeVolumeMount: Sendable, Equatable {
    public var name: String
    public var mountPath: String
    public var readOnly: Bool

    public init(name: String, mountPath: String, readOnly: Bool = false) {
        self.name = name
        self.mountPath = mountPath
        self.readOnly = readOnly
    }
}

public struct RuntimeProbe: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        case httpGet(path: String, port: Int)
        case exec([String])
        case tcpSocket(port: Int)
    }
    public var action: Action
    public var initialDelaySeconds: Double
    public var periodSeconds: Double
    public var timeoutSeconds: Double
    public var failureThreshold: Int
    public var successThreshold: Int

    public init(
        action: Action, initialDelaySeconds: Double = 0, periodSeconds: Double = 10, timeoutSeconds: Double = 1,
        failureThreshold: Int = 3, successThreshold: Int = 1
    ) {
        self.action = action
        self.initialDelaySeconds = initialDelaySeconds
        self.periodSeconds = periodSeconds
        self.timeoutSeconds = timeoutSeconds
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
    }
}

/// A kubelet's view of a pod, reported on every change.
public struct RuntimePodStatus: Sendable, Equatable {
    /// "Pending", "Running", "Succeeded" or "Failed".
    public var phase: String
    public var ready: Bool
    public var startTime: Date?
    public var containers: [RuntimeContainerStatus]
    /// `status.initContainerStatuses`, in `initContainers` order.
    public var initContainers: [RuntimeContainerStatus]

    public init(
        phase: String, ready: Bool, startTime: Date?, containers: [RuntimeContainerStatus],
        initContainers: [RuntimeContainerStatus] = []
    ) {
        self.phase = phase
        self.ready = ready
        self.startTime = startTime
        self.containers = containers
        self.initContainers = initContainers
    }

    /// All init containers ran to success (the pod's `Initialized` condition).
    public var initialized: Bool {
        initContainers.allSatisfy { if case .terminated(0, _, _, _, _) = $0.state { true } else { false } }
    }
}

public struct RuntimeContainerStatus: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case waiting(reason: String, message: String?)
        case running(startedAt: Date)
        case terminated(exitCode: Int32, signal: Int32?, reason: String, startedAt: Date, finishedAt: Date)
    }
    public var name: String
    public var containerID: String
    public var ready: Bool
    public var started: Bool
    public var restartCount: Int
    public var state: State
    public var lastState: State?

    public init(
        name: String, containerID: String, ready: Bool, started: Bool, restartCount: Int, state: State,
        lastState: State?
    ) {
        self.name = name
        self.containerID = containerID
        self.ready = ready
        self.started = started
        self.restartCount = restartCount
        self.state = state
        self.lastState = lastState
    }
}

/// One line a container wrote, as a kubelet's CRI log keeps it: its RFC 3339 timestamp with nanoseconds
/// (the exact text `kubectl logs --timestamps` shows), the stream, and the text without the newline.
public struct ContainerLogLine: Sendable, Equatable {
    public var timestamp: String
    public var date: Date
    public var stream: String
    public var text: String

    public init(timestamp: String, date: Date, stream: String, text: String) {
        self.timestamp = timestamp
        self.date = date
        self.stream = stream
        self.text = text
    }
}

/// The kubelet half of kubesim: runs pods as local processes and reaches inside them.
/// What a kubelet reports about a container as an event (Unhealthy probes, Killing).
public struct RuntimeContainerEvent: Sendable, Equatable {
    public var uid: String
    public var container: String
    public var reason: String
    public var message: String
    public var warning: Bool
}

public protocol PodRuntime: Sendable {
    /// Events about containers (probe failures, kills), for the pod's event list.
    var containerEvents: AsyncStream<RuntimeContainerEvent> { get }
    /// Starts the pod's containers. Status changes are delivered through `statusUpdates`.
    func start(_ pod: RuntimePod) async throws
    /// SIGTERM to every container, SIGKILL after `gracePeriodSeconds`; returns when all are gone.
    func stop(uid: String, gracePeriodSeconds: Int) async
    /// Every status change of every pod, keyed by pod uid.
    var statusUpdates: AsyncStream<(uid: String, status: RuntimePodStatus)> { get }
    /// The lines of the current (or, with `previous`, the last terminated) instance of a container.
    /// With `follow`, the stream stays open for new lines and finishes when that instance exits.
    /// Throws when the pod or container is unknown, or `previous` has no terminated instance.
    func logLines(uid: String, container: String, previous: Bool, follow: Bool) throws -> AsyncStream<
        ContainerLogLine
    >
    /// Runs a command inside the container's namespaces and mounts. The returned process's
    /// stdin/stdout/stderr are pipes the exec handler pumps to and from the WebSocket channels. With
    /// `tty`, the command runs on a terminal: stdout carries its output (stderr included, with the
    /// terminal's line endings), stderr ends at once, and `resize` sets its size.
    func exec(uid: String, container: String, command: [String], tty: Bool) async throws -> ExecProcess
    /// A TCP connection to `port` on 127.0.0.1 inside the pod's network namespace, as a connected
    /// socket file descriptor the caller owns.
    func dial(uid: String, port: Int) async throws -> Int32
    /// Fault injection: kill the container's process as if it crashed (SIGKILL).
    func killContainer(uid: String, container: String) async
    /// Stops every pod now (kubesim shutdown): nothing outlives kubesim.
    func shutdown() async
}

/// A process started by `PodRuntime.exec`.
public protocol ExecProcess: Sendable {
    var stdin: FileHandle { get }
    var stdout: FileHandle { get }
    var stderr: FileHandle { get }
    /// The exit status: the exit code, or 128 + signal for a signalled process.
    func wait() async -> Int32
    func terminate()
    /// Sets the terminal size of a `tty` exec (the resize channel's `{"Width":W,"Height":H}`); nothing
    /// happens without a terminal.
    func resize(columns: Int, rows: Int)
}

extension ExecProcess {
    public func resize(columns: Int, rows: Int) {}
}

extension PodRuntime {
    /// A runtime without probes reports no events.
    public var containerEvents: AsyncStream<RuntimeContainerEvent> { AsyncStream { $0.finish() } }
}
