import CKubeSimSys
import Foundation
import Synchronization

/// A process kubesim started, with the parent-death signal set: it dies with kubesim even on SIGKILL.
///
/// The fork happens on a thread of its own that then waits for the child, because Linux sends the
/// parent-death signal when the forking *thread* exits: that thread lives exactly as long as the child.
final class ChildProcess: Sendable {
    let pid: pid_t
    private let outcome: Mutex<Outcome>

    private enum Outcome {
        case running(waiters: [Int: CheckedContinuation<Int32?, Never>], next: Int)
        case exited(Int32)
    }

    private init(pid: pid_t) {
        self.pid = pid
        self.outcome = Mutex(.running(waiters: [:], next: 0))
    }

    /// Starts `executable`; `descriptors[i]` becomes descriptor i of the child (-1: /dev/null).
    /// The caller keeps ownership of the descriptors and closes its copies after this returns.
    static func spawn(
        executable: String, arguments: [String], environment: [String: String], descriptors: [Int32],
        networkNamespace: Int32? = nil, controllingTerminal: Bool = false
    ) async throws -> ChildProcess {
        try await start {
            forkExec(
                executable: executable, arguments: [executable] + arguments,
                environment: environment.map { "\($0.key)=\($0.value)" }.sorted(), descriptors: descriptors,
                networkNamespace: networkNamespace ?? -1, controllingTerminal: controllingTerminal)
        }
    }

    /// Starts `command` inside a running container (see `kubesim_spawn_joined`): the process is the
    /// command's parent, outside the container, and exits with the command's status.
    static func spawn(
        joining target: JoinedTarget, command: [String], environment: [String: String], descriptors: [Int32],
        controllingTerminal: Bool = false
    ) async throws -> ChildProcess {
        try await start {
            let argv = command.map { strdup($0) } + [nil]
            let entries: [String] = environment.map { "\($0.key)=\($0.value)" }.sorted()
            let envp = entries.map { strdup($0) } + [nil]
            defer {
                for pointer in argv + envp { free(pointer) }
            }
            var error: Int32 = 0
            let (user, group) = (target.user.map(Int.init) ?? -1, target.group.map(Int.init) ?? -1)
            let pid = descriptors.withUnsafeBufferPointer { fds in
                target.namespaces.withUnsafeBufferPointer { namespaces in
                    target.workingDirectory.withCString { workingDirectory in
                        kubesim_spawn_joined(
                            argv[0], argv, envp, fds.baseAddress, Int32(fds.count), namespaces.baseAddress,
                            workingDirectory, target.capabilities, user, group, controllingTerminal ? 1 : 0, &error)
                    }
                }
            }
            return pid > 0 ? .success(pid) : .failure(SpawnError(executable: command[0], code: error))
        }
    }

    /// Forks on a thread that then waits for the child (see the type's comment).
    private static func start(
        _ fork: @escaping @Sendable () -> Result<pid_t, SpawnError>
    ) async throws -> ChildProcess {
        try await withCheckedThrowingContinuation { (started: CheckedContinuation<ChildProcess, any Error>) in
            let thread = Thread {
                switch fork() {
                case .failure(let error):
                    started.resume(throwing: error)
                case .success(let pid):
                    let child = ChildProcess(pid: pid)
                    started.resume(returning: child)
                    child.finish(status: waitForExit(pid))
                }
            }
            thread.name = "kubesim-child"
            thread.start()
        }
    }

    /// The exit status: the exit code, or 128 + signal number for a signalled process.
    func wait() async -> Int32 {
        await wait(timeout: nil)!
    }

    /// The exit status, or nil when the process is still running after `timeout`.
    func wait(timeout: Duration?) async -> Int32? {
        await withCheckedContinuation { waiter in
            let registered: Int? = outcome.withLock { outcome in
                switch outcome {
                case .exited(let status):
                    waiter.resume(returning: status)
                    return nil
                case .running(var waiters, let key):
                    waiters[key] = waiter
                    outcome = .running(waiters: waiters, next: key + 1)
                    return key
                }
            }
            guard let key = registered, let timeout else { return }
            Task {
                try? await Task.sleep(for: timeout)
                self.giveUp(waiter: key)
            }
        }
    }

    private func giveUp(waiter key: Int) {
        let waiter = outcome.withLock { outcome -> CheckedContinuation<Int32?, Never>? in
            guard case .running(var waiters, let next) = outcome, let waiter = waiters.removeValue(forKey: key) else {
                return nil
            }
            outcome = .running(waiters: waiters, next: next)
            return waiter
        }
        waiter?.resume(returning: nil)
    }

    var hasExited: Bool {
        outcome.withLock { if case .exited = $0 { true } else { false } }
    }

    /// Signals the process unless it was already reaped (its pid may then belong to another process).
    func signal(_ signal: Int32) {
        outcome.withLock { outcome in
            if case .running = outcome { _ = kill(pid, signal) }
        }
    }

    private func finish(status: Int32) {
        let waiters = outcome.withLock { outcome -> [CheckedContinuation<Int32?, Never>] in
            guard case .running(let waiters, _) = outcome else { return [] }
            outcome = .exited(status)
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }
}

/// What an exec joins: descriptors of a container's ipc, uts, net, pid and mount namespaces (-1: not
/// joined), the working directory inside it, the capabilities kept (bit numbers of linux/capability.h),
/// and the user and group to run as (nil: root's).
struct JoinedTarget: Sendable {
    var namespaces: [Int32]
    var workingDirectory: String
    var capabilities: UInt64
    var user: Int64?
    var group: Int64?
}

/// A process could not be started (bubblewrap missing, out of processes).
public struct SpawnError: Error, CustomStringConvertible {
    public var executable: String
    public var code: Int32
    public var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
}

private func forkExec(
    executable: String, arguments: [String], environment: [String], descriptors: [Int32], networkNamespace: Int32,
    controllingTerminal: Bool
) -> Result<pid_t, SpawnError> {
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup($0) } + [nil]
    defer {
        for pointer in argv + envp { free(pointer) }
    }
    var error: Int32 = 0
    let pid = descriptors.withUnsafeBufferPointer { fds in
        kubesim_spawn(
            executable, argv, envp, fds.baseAddress, Int32(fds.count), networkNamespace, SIGKILL,
            controllingTerminal ? 1 : 0, &error)
    }
    return pid > 0 ? .success(pid) : .failure(SpawnError(executable: executable, code: error))
}

private func waitForExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        if errno != EINTR { return 128 + SIGKILL }
    }
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
}

/// Runs blocking work (reads, connects inside another network namespace) on a thread of its own,
/// keeping it off Swift's small cooperative pool.
func onDedicatedThread<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.name = name
        thread.start()
    }
}

/// A pipe whose ends are closed on exec; kubesim keeps one end and hands the other to a child.
struct CloseOnExecPipe {
    var readEnd: Int32
    var writeEnd: Int32

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard kubesim_pipe(&fds) == 0 else { throw SpawnError(executable: "pipe", code: errno) }
        readEnd = fds[0]
        writeEnd = fds[1]
    }
}
