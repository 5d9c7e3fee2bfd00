import DevLoop
import Foundation
import ProcessTestSupport

/// dev/supervisor.sh run on this machine as a container would run it: its output collected, its
/// environment the "manifest's".
final class SupervisorProcess: @unchecked Sendable {
    private let process = Process()
    private let exited: OneShot<Int32>
    private let lock = NSLock()
    private var collected = Data()

    /// `script` is what `shell` runs (dev/supervisor.sh unless told).
    init(
        shell: [String], environment: [String: String],
        script: String? = repositoryRoot.appendingPathComponent("dev/supervisor.sh").path
    ) throws {
        // Started with every signal unblocked, as a container runtime (and kubesim) starts a container:
        // Foundation hands its own blocked SIGCHLD on, under which busybox's `wait` never returns.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments =
            [
                "-c",
                "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])",
            ] + shell + (script.map { [$0] } ?? [])
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        exited = process.exitStatus()
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.withLock { self.collected.append(data) }
        }
        try process.run()
    }

    var output: String { lock.withLock { String(decoding: collected, as: UTF8.self) } }

    /// Sends TERM and waits (bounded) for the exit status; KILLs and returns nil when it does not end.
    func terminate(within timeout: Duration = .seconds(20)) async -> Int32? {
        if let status = exited.value { return status }
        process.terminate()
        guard let status = await exited.wait(timeout: timeout) else {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return status
    }

    /// For `defer`: KILLs the supervisor and the server it names in `control`/server.state when a test
    /// ends early, so that a failing test leaves no process behind.
    func forceStop(control: URL) {
        guard exited.value == nil else { return }
        let state = (try? String(contentsOf: control.appendingPathComponent("server.state"), encoding: .utf8)) ?? ""
        if state.hasPrefix("running "),
            let server = Int32(state.dropFirst(8).trimmingCharacters(in: .whitespacesAndNewlines))
        {
            kill(server, SIGKILL)
        }
        kill(process.processIdentifier, SIGKILL)
    }

    /// Waits until the output contains `text` `count` times (bounded).
    func waitForOutput(_ text: String, count: Int = 1, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if output.components(separatedBy: text).count - 1 >= count { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}

/// Runs "container" commands as local processes with the container's environment, `sh` being `shell`.
struct LocalShellExecutor: ContainerExecutor {
    var shell: [String]
    var environment: [String: String]

    /// Python's arguments that run `command` with every signal unblocked, as a container runtime starts
    /// an exec: the supervisor wakes the exec with USR1.
    func arguments(_ command: [String]) -> [String] {
        let program = command[0] == "sh" ? shell : [command[0]]
        return [
            "-c",
            "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])",
            program[0] == "sh" ? "/bin/sh" : program[0],
        ] + Array(program.dropFirst()) + Array(command.dropFirst())
    }

    var processEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }

    func run(_ command: [String], stdin: Data) async throws -> ExecResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = arguments(command)
        process.environment = processEnvironment
        process.standardInput = FileHandle.nullDevice
        let outcome = try await process.runToEnd(timeout: .seconds(300))
        guard let status = outcome.status else { throw ProbeError("\(command) ran over 300 s and was killed") }
        return ExecResult(exitCode: status, stdout: outcome.stdout, stderr: outcome.stderr)
    }
}

/// A port on 127.0.0.1 nobody listens on right now.
func freeLocalPort() -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
