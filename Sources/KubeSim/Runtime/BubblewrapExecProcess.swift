import Foundation

/// A command run inside a container, as `kubectl exec` runs one: a new bubblewrap sandbox with the
/// container's mounts (its volumes and its /tmp), environment and working directory, joined to the
/// pod's network namespace, with pipes for stdin, stdout and stderr.
final class BubblewrapExecProcess: ExecProcess {
    let stdin: FileHandle
    let stdout: FileHandle
    let stderr: FileHandle
    let sandbox: SandboxProcess

    private init(stdin: FileHandle, stdout: FileHandle, stderr: FileHandle, sandbox: SandboxProcess) {
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.sandbox = sandbox
    }

    static func start(
        _ command: [String], in container: RuntimeContainer, sandbox: PodSandbox
    ) async throws -> BubblewrapExecProcess {
        guard let program = command.first, !program.isEmpty else {
            throw RuntimeError("exec: the command is empty")
        }
        let bubblewrap = try sandbox.command(for: container, program: command)
        let input = try CloseOnExecPipe()
        let output = try CloseOnExecPipe()
        let errors = try CloseOnExecPipe()
        defer {
            for fd in [input.readEnd, output.writeEnd, errors.writeEnd] { close(fd) }
        }
        let handles = [input.writeEnd, output.readEnd, errors.readEnd]
        let namespace = open(sandbox.networkNamespacePath, O_RDONLY | O_CLOEXEC)
        guard namespace >= 0 else {
            for fd in handles { close(fd) }
            throw RuntimeError("pod \(sandbox.pod.namespace)/\(sandbox.pod.name) has no network namespace")
        }
        defer { close(namespace) }
        do {
            let process = try await SandboxProcess.start(
                bubblewrap, bubblewrapPath: sandbox.settings.bubblewrapPath,
                environment: sandbox.environment(for: container),
                stdio: [input.readEnd, output.writeEnd, errors.writeEnd], networkNamespace: namespace)
            return BubblewrapExecProcess(
                stdin: FileHandle(fileDescriptor: input.writeEnd, closeOnDealloc: true),
                stdout: FileHandle(fileDescriptor: output.readEnd, closeOnDealloc: true),
                stderr: FileHandle(fileDescriptor: errors.readEnd, closeOnDealloc: true), sandbox: process)
        } catch {
            for fd in handles { close(fd) }
            throw error
        }
    }

    /// bubblewrap exits with the command's status (128 + signal when it was signalled). A program that
    /// cannot be started makes bubblewrap exit 1 with its reason on stderr; kubelet's 126/127 are not told apart.
    func wait() async -> Int32 {
        await sandbox.wait()
    }

    /// Kills the command and everything it started (bubblewrap's init gets the parent-death signal).
    func terminate() {
        sandbox.killAll()
    }
}
