import Foundation
import KubeSim
import ProcessTestSupport

/// A test seam for the API server's tests: "pods" that are just status (each container reports
/// Running and ready at once), exec as a host process, and dial to a port on the host's loopback.
/// The API server is under test here, not the runtime (the bubblewrap runtime has its own tests).
final class HostProcessRuntime: PodRuntime, @unchecked Sendable {
    let statusUpdates: AsyncStream<(uid: String, status: RuntimePodStatus)>
    private let updates: AsyncStream<(uid: String, status: RuntimePodStatus)>.Continuation
    private let lock = NSLock()
    private var pods: [String: RuntimePod] = [:]
    private var logs: [String: [ContainerLogLine]] = [:]
    private var followers: [String: [AsyncStream<ContainerLogLine>.Continuation]] = [:]
    /// Pod uid → host port that `dial` connects to, whatever port is asked for.
    var portMap: [Int: Int] = [:]

    /// false: pods are accepted but never reported started (their containers wait forever).
    let startsContainers: Bool

    init(startsContainers: Bool = true) {
        self.startsContainers = startsContainers
        (statusUpdates, updates) = AsyncStream.makeStream()
    }

    var startedPods: [RuntimePod] { lock.withLock { Array(pods.values) } }

    func start(_ pod: RuntimePod) async throws {
        lock.withLock { pods[pod.uid] = pod }
        guard startsContainers else { return }
        let now = Date()
        let containers = pod.containers.map { container in
            RuntimeContainerStatus(
                name: container.name, containerID: "host://\(pod.uid)-\(container.name)", ready: true, started: true,
                restartCount: 0, state: .running(startedAt: now), lastState: nil)
        }
        updates.yield(
            (pod.uid, RuntimePodStatus(phase: "Running", ready: true, startTime: now, containers: containers)))
        for container in pod.containers { write(uid: pod.uid, container: container.name, "started \(container.name)") }
    }

    /// Appends a log line to a container, as if it printed it.
    func write(uid: String, container: String, _ text: String) {
        let date = Date()
        let line = ContainerLogLine(timestamp: date.formatted(.iso8601), date: date, stream: "stdout", text: text)
        let waiting = lock.withLock {
            logs["\(uid)/\(container)", default: []].append(line)
            return followers["\(uid)/\(container)"] ?? []
        }
        for follower in waiting { follower.yield(line) }
    }

    func stop(uid: String, gracePeriodSeconds: Int) async {
        let followers = lock.withLock {
            pods[uid] = nil
            return self.followers.filter { $0.key.hasPrefix(uid + "/") }.flatMap(\.value)
        }
        for follower in followers { follower.finish() }
    }

    func logLines(uid: String, container: String, previous: Bool, follow: Bool) throws -> AsyncStream<ContainerLogLine>
    {
        let key = "\(uid)/\(container)"
        if previous { throw TestFailure("no previous instance of \(container)") }
        return lock.withLock {
            let (stream, continuation) = AsyncStream<ContainerLogLine>.makeStream()
            for line in logs[key] ?? [] { continuation.yield(line) }
            if follow { followers[key, default: []].append(continuation) } else { continuation.finish() }
            return stream
        }
    }

    func exec(uid: String, container: String, command: [String], tty: Bool) async throws -> ExecProcess {
        try HostExecProcess(command)
    }

    func dial(uid: String, port: Int) async throws -> Int32 {
        try HostSocket.connect(port: portMap[port] ?? port)
    }

    func killContainer(uid: String, container: String) async {}

    func shutdown() async {
        for uid in lock.withLock({ Array(pods.keys) }) { await stop(uid: uid, gracePeriodSeconds: 0) }
    }
}

final class HostExecProcess: ExecProcess, @unchecked Sendable {
    /// No exec in the API server's tests runs longer: one that does is killed, and reads as killed.
    static let deadline = Duration.seconds(120)
    let process = Process()
    private let status: OneShot<Int32>
    let stdin: FileHandle
    let stdout: FileHandle
    let stderr: FileHandle

    init(_ command: [String]) throws {
        let (input, output, errors) = (Pipe(), Pipe(), Pipe())
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        status = process.exitStatus()
        try process.run()
        stdin = input.fileHandleForWriting
        stdout = output.fileHandleForReading
        stderr = errors.fileHandleForReading
        try? input.fileHandleForReading.close()
        try? output.fileHandleForWriting.close()
        try? errors.fileHandleForWriting.close()
    }

    func wait() async -> Int32 {
        if let code = await status.wait(timeout: Self.deadline) { return code }
        kill(process.processIdentifier, SIGKILL)
        return await status.wait(timeout: .seconds(10)) ?? 128 + SIGKILL
    }

    func terminate() { if status.value == nil { process.terminate() } }
}

enum HostSocket {
    static func connect(port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECONNREFUSED)
        }
        return descriptor
    }
}
