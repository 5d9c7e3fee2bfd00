import Foundation

/// One run of a container: a bubblewrap sandbox in the pod's network namespace, whose init (pid 1 of
/// the container's own pid namespace) runs the program and takes every process of the container down
/// with it; its stdout and stderr go to the instance's log.
final class ContainerInstance: Sendable {
    let id: String
    let startedAt: Date
    let log: ContainerLog
    private let process: SandboxProcess

    private init(id: String, startedAt: Date, log: ContainerLog, process: SandboxProcess) {
        self.id = id
        self.startedAt = startedAt
        self.log = log
        self.process = process
    }

    static func start(
        _ container: RuntimeContainer, in sandbox: PodSandbox, restartCount: Int
    ) async throws -> ContainerInstance {
        let folder = sandbox.containerDirectory(container.name)
        // A new instance starts with an empty /tmp, as a container gets a new writable layer.
        try? FileManager.default.removeItem(atPath: folder + "/tmp")
        try FileManager.default.createDirectory(atPath: folder + "/tmp", withIntermediateDirectories: true)
        // /tmp is writable by every user, as in an image.
        try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: folder + "/tmp")
        var program = try containerProgram(container)
        if let user = container.user {
            // bubblewrap starts the program as root (with the runtime's capabilities); setpriv then becomes the
            // user, which drops them, as a runtime does for runAsUser.
            let groups =
                user.groups.isEmpty
                ? ["--clear-groups"] : ["--groups=" + user.groups.map(String.init).joined(separator: ",")]
            program = ["setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)"] + groups + ["--"] + program
        }
        let command = try sandbox.command(for: container, program: program)
        let log = try ContainerLog(path: folder + "/\(restartCount).log")
        // The log before the previous one is no longer reachable (kubelet keeps the last two too).
        try? FileManager.default.removeItem(atPath: folder + "/\(restartCount - 2).log")
        let output = try CloseOnExecPipe()
        let errors = try CloseOnExecPipe()
        log.capture(output.readEnd, stream: "stdout")
        log.capture(errors.readEnd, stream: "stderr")
        defer {
            close(output.writeEnd)
            close(errors.writeEnd)
        }
        let namespace = open(sandbox.networkNamespacePath, O_RDONLY | O_CLOEXEC)
        guard namespace >= 0 else {
            throw RuntimeError("pod \(sandbox.pod.namespace)/\(sandbox.pod.name) lost its network namespace")
        }
        defer { close(namespace) }
        let process = try await SandboxProcess.start(
            command, bubblewrapPath: sandbox.settings.bubblewrapPath, environment: sandbox.environment(for: container),
            stdio: [-1, output.writeEnd, errors.writeEnd], networkNamespace: namespace)
        return ContainerInstance(id: newContainerID(), startedAt: Date(), log: log, process: process)
    }

    /// The exit status once the instance and its log are finished (code, or 128 + signal).
    func wait() async -> Int32 {
        let status = await process.wait()
        await log.drained()
        return status
    }

    var isRunning: Bool { !process.hasExited }

    /// How the instance ended, in kubelet's words. When bubblewrap itself failed (the program does not
    /// exist, the working directory is missing), the program never ran: containerd calls that a
    /// StartError with exit code 128, and bubblewrap's reason is the log's only line.
    func terminatedState(exitCode: Int32, finishedAt: Date) -> RuntimeContainerStatus.State {
        let lines = ContainerLog.records(atPath: log.path)
        let neverRan =
            exitCode == 1 && !lines.isEmpty
            && lines.allSatisfy { $0.stream == "stderr" && $0.text.hasPrefix("bwrap: ") }
        let reason = neverRan ? "StartError" : exitCode == 0 ? "Completed" : "Error"
        return .terminated(
            exitCode: neverRan ? 128 : exitCode, signal: nil, reason: reason, startedAt: startedAt,
            finishedAt: finishedAt)
    }

    /// SIGTERM to the program, SIGKILL to all of the container after `gracePeriod`; returns when gone.
    func terminate(gracePeriod: Duration) async {
        if let program = process.programPID {
            _ = Glibc.kill(program, SIGTERM)
            if await process.wait(timeout: gracePeriod) != nil {
                return
            }
        }
        kill()
        _ = await process.wait()
    }

    /// Descriptors of the container's ipc, uts, net, pid and mount namespaces (the caller closes them),
    /// or nil when the instance is gone.
    func openNamespaces() -> [Int32]? {
        process.openNamespaces(["ipc", "uts", "net", "pid", "mnt"])
    }

    /// SIGKILL to every process of the container.
    func kill() {
        process.killAll()
    }
}

/// A containerd-style id: the runtime's name and 64 hex digits.
func newContainerID() -> String {
    "kubesim://" + (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: .min ... .max)) }.joined()
}
