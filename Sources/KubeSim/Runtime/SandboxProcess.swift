import CKubeSimSys
import Foundation
import Synchronization

/// A bubblewrap sandbox with a pid namespace of its own: bubblewrap (kubesim's child), and its init,
/// pid 1 of the namespace, which runs the program as pid 2. When the init dies, the kernel kills every
/// process of the namespace. bubblewrap exits as soon as the program does, possibly before its init has
/// finished, so waiting for the sandbox waits for the init too; kubesim, the child subreaper, then
/// inherits the init and reaps it (no zombie is left to an init process that may never reap).
final class SandboxProcess: Sendable {
    let bubblewrap: ChildProcess
    /// The init's pid in kubesim's namespace, from bubblewrap's `--info-fd` report.
    let initPID: pid_t?
    /// When the init started (so that a reused pid is not taken for it).
    private let initStart: UInt64?
    /// Waits for the init once for every caller of `wait`.
    private let initGone = Mutex<Task<Void, Never>?>(nil)

    private init(bubblewrap: ChildProcess, initPID: pid_t?) {
        self.bubblewrap = bubblewrap
        self.initPID = initPID
        self.initStart = initPID.flatMap { ProcessTree.status(of: $0)?.start }
    }

    /// Makes this process adopt the orphans among its descendants (PR_SET_CHILD_SUBREAPER), so that a
    /// sandbox's init that outlives its bubblewrap becomes kubesim's child, reaped in `wait`.
    static func adoptOrphans() {
        _ = kubesim_become_subreaper()
    }

    /// Starts `command`; `stdio` are the program's stdin, stdout and stderr (-1: /dev/null); with
    /// `controllingTerminal`, stdin is a terminal that becomes the session's.
    static func start(
        _ command: BubblewrapCommand, bubblewrapPath: String, environment: [String: String], stdio: [Int32],
        networkNamespace: Int32? = nil, controllingTerminal: Bool = false
    ) async throws -> SandboxProcess {
        let info = try CloseOnExecPipe()
        let bubblewrap: ChildProcess
        do {
            bubblewrap = try await ChildProcess.spawn(
                executable: bubblewrapPath, arguments: ["--info-fd", "3"] + command.arguments, environment: environment,
                descriptors: stdio + [info.writeEnd], networkNamespace: networkNamespace,
                controllingTerminal: controllingTerminal)
        } catch {
            close(info.readEnd)
            close(info.writeEnd)
            throw error
        }
        close(info.writeEnd)
        let report = await onDedicatedThread("kubesim-sandbox") { readUntilClosingBrace(info.readEnd) }
        close(info.readEnd)
        let sandbox = SandboxProcess(bubblewrap: bubblewrap, initPID: sandboxChildPID(report))
        await sandbox.waitUntilSetUp()
        return sandbox
    }

    /// bubblewrap reports the init's pid before that process has built the sandbox (mounts, new root,
    /// working directory), and the init forks the program only once it has: until then an exec joining
    /// its namespaces would see a half-built file system (a runtime such as runc reports a container
    /// started only after its mounts). Nothing announces the fork, so it is polled, briefly; a sandbox
    /// that ends first (bubblewrap failed, or the program already exited) ends the wait too.
    private func waitUntilSetUp(within limit: Duration = .seconds(30)) async {
        let deadline = ContinuousClock.now + limit
        while programPID == nil, !bubblewrap.hasExited, initIsAlive, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// The program the init started, while it runs.
    var programPID: pid_t? { ProcessTree.child(of: initPID) }

    var hasExited: Bool { bubblewrap.hasExited }

    /// bubblewrap's exit status (the program's code, or 128 + signal), once every process is gone.
    func wait() async -> Int32 {
        let status = await bubblewrap.wait()
        await waitForInit()
        return status
    }

    /// As `wait()`, or nil when the sandbox still runs after `timeout`.
    func wait(timeout: Duration) async -> Int32? {
        guard let status = await bubblewrap.wait(timeout: timeout) else { return nil }
        await waitForInit()
        return status
    }

    /// SIGKILL to the init (every process of the sandbox dies), or to bubblewrap before the init exists.
    func killAll() {
        if let initPID, !bubblewrap.hasExited, initIsAlive {
            _ = kill(initPID, SIGKILL)
        } else {
            bubblewrap.signal(SIGKILL)
        }
    }

    /// Descriptors of the init's namespaces of `kinds` (names under /proc/PID/ns), or nil when the init
    /// is gone: opened first, then checked, so that they cannot belong to a process that reused its pid.
    func openNamespaces(_ kinds: [String]) -> [Int32]? {
        guard let initPID else { return nil }
        let fds = kinds.map { open("/proc/\(initPID)/ns/\($0)", O_RDONLY | O_CLOEXEC) }
        guard !fds.contains(where: { $0 < 0 }), !bubblewrap.hasExited, initIsAlive else {
            for fd in fds where fd >= 0 { close(fd) }
            return nil
        }
        return fds
    }

    /// True while the init exists and is not a zombie: an init that has become a zombie has seen every
    /// process of its namespace die.
    private var initIsAlive: Bool {
        guard let initPID, let status = ProcessTree.status(of: initPID) else { return false }
        return status.start == initStart && status.state != "Z" && status.state != "X"
    }

    /// Called once bubblewrap has exited: the init is gone, or kubesim's child now (reaped here), or
    /// another process's (waited for until it is a zombie).
    private func waitForInit() async {
        let task = initGone.withLock { task in
            if let task { return task }
            let created = Task { await self.reapInit() }
            task = created
            return created
        }
        await task.value
    }

    private func reapInit() async {
        guard let initPID, let status = ProcessTree.status(of: initPID), status.start == initStart else { return }
        if status.parent == getpid() {
            await onDedicatedThread("kubesim-reaper") {
                var code: Int32 = 0
                while waitpid(initPID, &code, 0) < 0 && errno == EINTR {}
            }
            return
        }
        while initIsAlive {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Reads the process tree from /proc.
enum ProcessTree {
    static func children(of pid: pid_t) -> [pid_t] {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8) else {
            return []
        }
        return text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    static func child(of pid: pid_t?) -> pid_t? {
        guard let pid else { return nil }
        return children(of: pid).first
    }

    /// The state letter, parent and start time (clock ticks after boot) from /proc/PID/stat.
    static func status(of pid: pid_t) -> (state: Character, parent: pid_t, start: UInt64)? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": state is field 3, ppid field 4, starttime field 22.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let parent = pid_t(fields[1]),
            let start = UInt64(fields[19])
        else { return nil }
        return (state, parent, start)
    }
}

private func readUntilClosingBrace(_ fd: Int32) -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while !bytes.contains(UInt8(ascii: "}")) {
        let count = read(fd, &chunk, chunk.count)
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { break }
        bytes += chunk[0..<count]
    }
    return bytes
}

/// `child-pid` from bubblewrap's `--info-fd` JSON.
func sandboxChildPID(_ report: [UInt8]) -> pid_t? {
    guard let end = report.lastIndex(of: UInt8(ascii: "}")),
        let object = try? JSONSerialization.jsonObject(with: Data(report[...end])) as? [String: Any],
        let pid = object["child-pid"] as? Int
    else { return nil }
    return pid_t(pid)
}
