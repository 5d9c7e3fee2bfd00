import CKubeSimSys
import Foundation

/// A command run inside a container, as `kubectl exec` runs one: it joins the container's ipc, uts,
/// network, pid and mount namespaces (so it sees the container's files and mounts, and can see and
/// signal its processes), with the container's environment, working directory and capabilities, and
/// pipes for stdin, stdout and stderr, or a terminal behind them (`tty`).
final class BubblewrapExecProcess: ExecProcess {
    let stdin: FileHandle
    let stdout: FileHandle
    let stderr: FileHandle
    /// The command's parent, outside the container; it exits with the command's status.
    let process: ChildProcess
    /// kubesim's side of the terminal, for resizing (-1 without one).
    private let terminal: Int32

    private init(stdin: FileHandle, stdout: FileHandle, stderr: FileHandle, process: ChildProcess, terminal: Int32) {
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.process = process
        self.terminal = terminal
    }

    deinit {
        if terminal >= 0 { close(terminal) }
    }

    static func start(
        _ command: [String], in container: RuntimeContainer, instance: ContainerInstance, sandbox: PodSandbox,
        tty: Bool = false
    ) async throws -> BubblewrapExecProcess {
        guard let program = command.first, !program.isEmpty else {
            throw RuntimeError("exec: the command is empty")
        }
        var environment = sandbox.environment(for: container)
        if tty && environment["TERM"] == nil { environment["TERM"] = "xterm" }
        guard let namespaces = instance.openNamespaces() else {
            throw RuntimeError(
                "container \"\(container.name)\" in pod \(sandbox.pod.namespace)/\(sandbox.pod.name) is not running")
        }
        defer { for fd in namespaces { close(fd) } }
        let target = JoinedTarget(
            namespaces: namespaces, workingDirectory: container.workingDir ?? "/",
            capabilities: BubblewrapCommand.defaultCapabilityMask, user: container.user.map { Int64($0.uid) },
            group: container.user.map { Int64($0.gid) })
        let streams = try tty ? ExecStreams.terminal() : ExecStreams.pipes()
        do {
            let process = try await ChildProcess.spawn(
                joining: target, command: command, environment: environment, descriptors: streams.childEnds,
                controllingTerminal: tty)
            streams.started()
            return BubblewrapExecProcess(
                stdin: FileHandle(fileDescriptor: streams.stdin, closeOnDealloc: true),
                stdout: FileHandle(fileDescriptor: streams.stdout, closeOnDealloc: true),
                stderr: FileHandle(fileDescriptor: streams.stderr, closeOnDealloc: true), process: process,
                terminal: streams.terminal)
        } catch {
            streams.abandon()
            throw error
        }
    }

    /// The command's exit status (128 + signal when it was signalled); 127 when the program is not
    /// found, 126 when it cannot be executed, as a shell reports them.
    func wait() async -> Int32 {
        await process.wait()
    }

    /// As `wait()`, or nil when the command still runs after `timeout`.
    func wait(timeout: Duration) async -> Int32? {
        await process.wait(timeout: timeout)
    }

    /// Kills the command and what it started in its process group; its parent reaps it and exits.
    func terminate() {
        process.signal(SIGTERM)
    }

    func resize(columns: Int, rows: Int) {
        guard terminal >= 0 else { return }
        _ = kubesim_resize_terminal(terminal, UInt16(clamping: columns), UInt16(clamping: rows))
    }
}

/// The descriptors of an exec: kubesim's ends (stdin to write, stdout and stderr to read) and the
/// child's. With a terminal, two threads relay between pipes and the terminal, so that kubesim's side
/// only ever sees pipes (a terminal reports the end of its process as an error, not as end of file).
private struct ExecStreams {
    var stdin: Int32
    var stdout: Int32
    var stderr: Int32
    var childEnds: [Int32]
    var terminal: Int32 = -1
    /// The relays between the terminal and the pipes, started once the child holds its ends.
    var relays: [@Sendable () -> Void] = []
    /// What the relays own (and close when they end).
    var relayEnds: [Int32] = []

    static func pipes() throws -> ExecStreams {
        let input = try CloseOnExecPipe()
        let output = try CloseOnExecPipe()
        let errors = try CloseOnExecPipe()
        return ExecStreams(
            stdin: input.writeEnd, stdout: output.readEnd, stderr: errors.readEnd,
            childEnds: [input.readEnd, output.writeEnd, errors.writeEnd])
    }

    static func terminal(columns: UInt16 = 80, rows: UInt16 = 24) throws -> ExecStreams {
        var controller: Int32 = -1
        var device: Int32 = -1
        guard kubesim_open_terminal(&controller, &device, columns, rows) == 0 else {
            throw RuntimeError("exec: cannot open a terminal: \(errnoText())")
        }
        let input = try CloseOnExecPipe()
        let output = try CloseOnExecPipe()
        let errors = try CloseOnExecPipe()
        close(errors.writeEnd)  // everything goes to the terminal
        let (reader, writer) = (dup(controller), dup(controller))
        var streams = ExecStreams(
            stdin: input.writeEnd, stdout: output.readEnd, stderr: errors.readEnd, childEnds: [device, device, device])
        streams.terminal = controller
        streams.relays = [
            { relay(from: reader, to: output.writeEnd) },
            { relay(from: input.readEnd, to: writer) },
        ]
        streams.relayEnds = [reader, writer, output.writeEnd, input.readEnd]
        return streams
    }

    /// Closes the child's ends (it has its own copies now) and starts the relays.
    func started() {
        for fd in Set(childEnds) { close(fd) }
        for body in relays {
            let thread = Thread(block: body)
            thread.name = "kubesim-terminal"
            thread.start()
        }
    }

    func abandon() {
        for fd in Set(childEnds + [stdin, stdout, stderr] + relayEnds) { close(fd) }
        if terminal >= 0 { close(terminal) }
    }
}

/// Copies until `source` ends or fails, then closes both.
private func relay(from source: Int32, to destination: Int32) {
    var buffer = [UInt8](repeating: 0, count: 16384)
    copying: while true {
        let count = read(source, &buffer, buffer.count)
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { break }
        var offset = 0
        while offset < count {
            let written = buffer[offset..<count].withUnsafeBytes { write(destination, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { break copying }
            offset += written
        }
    }
    close(source)
    close(destination)
}
