import Foundation

/// A bubblewrap sandbox with a pid namespace of its own: bubblewrap (kubesim's child), and its init,
/// pid 1 of the namespace, which runs the program as pid 2. When the init dies, the kernel kills every
/// process of the namespace. bubblewrap exits as soon as the program does, possibly before its init has
/// finished, so waiting for the sandbox waits for the init too.
final class SandboxProcess: Sendable {
    let bubblewrap: ChildProcess
    /// The init's pid in kubesim's namespace, from bubblewrap's `--info-fd` report.
    let initPID: pid_t?

    private init(bubblewrap: ChildProcess, initPID: pid_t?) {
        self.bubblewrap = bubblewrap
        self.initPID = initPID
    }

    /// Starts `command`; `stdio` are the program's stdin, stdout and stderr (-1: /dev/null).
    static func start(
        _ command: BubblewrapCommand, bubblewrapPath: String, environment: [String: String], stdio: [Int32],
        networkNamespace: Int32? = nil
    ) async throws -> SandboxProcess {
        let info = try CloseOnExecPipe()
        let bubblewrap: ChildProcess
        do {
            bubblewrap = try await ChildProcess.spawn(
                executable: bubblewrapPath, arguments: ["--info-fd", "3"] + command.arguments, environment: environment,
                descriptors: stdio + [info.writeEnd], networkNamespace: networkNamespace)
        } catch {
            close(info.readEnd)
            close(info.writeEnd)
            throw error
        }
        close(info.writeEnd)
        let report = await onDedicatedThread("kubesim-sandbox") { readUntilClosingBrace(info.readEnd) }
        close(info.readEnd)
        return SandboxProcess(bubblewrap: bubblewrap, initPID: sandboxChildPID(report))
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
        if let initPID, !bubblewrap.hasExited, ProcessTree.isAlive(initPID) {
            _ = kill(initPID, SIGKILL)
        } else {
            bubblewrap.signal(SIGKILL)
        }
    }

    private func waitForInit() async {
        guard let initPID else { return }
        while ProcessTree.isAlive(initPID) {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}

extension ProcessTree {
    /// True while `pid` exists and is not a zombie: an init that has become a zombie has seen every
    /// process of its namespace die (its reaping is up to whoever inherited it).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: end)...].dropFirst().first
        return state != "Z" && state != "X"
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
