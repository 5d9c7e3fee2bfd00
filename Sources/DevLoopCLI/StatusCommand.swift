import ArgumentParser
import DevLoop
import Foundation

/// `devloop status`: the running (or last) session of a config.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the session: cluster, kubeconfig and context, namespace, pod, transport, forwards, timings.",
        discussion: "Exit status: 0 a session is running, 1 none is, 2 bad input.")

    @OptionGroup var options: ConfigOption

    @Flag(help: "Print the session as JSON (the fields of .devloop/session.json plus `running`).")
    var json = false

    func run() async throws {
        let config = try options.load()
        let running = SessionLock.runningSession(root: config.root)
        let state = SessionState.read(root: config.root)
        if json {
            let body = state?.json() ?? "{}"
            // `running` joins the stored fields: the file alone cannot tell a live session from a dead one.
            let trimmed = body.trimmingCharacters(in: .whitespacesAndNewlines)
            let inner = trimmed.dropFirst().dropLast().trimmingCharacters(in: .whitespacesAndNewlines)
            Output.line("{\n  \"running\" : \(running != nil)" + (inner.isEmpty ? "" : ",\n  " + inner) + "\n}")
        } else {
            Output.line(Self.text(state: state, running: running, config: config.file))
        }
        if running == nil { throw ExitCode.failure }
    }

    static func text(state: SessionState?, running: Int32?, config: String) -> String {
        guard let state else { return "no session for \(config) has run yet" }
        var lines = [
            running.map { "session     running (pid \($0))" } ?? "session     not running (last pid \(state.pid))"
        ]
        lines.append("config      \(state.config)")
        if let cluster = state.cluster {
            lines.append(
                "cluster     \(cluster.kind == "embedded" ? "embedded kubesim" : "kubeconfig") at \(cluster.server)")
            lines.append("kubeconfig  \(cluster.kubeconfig) (context \(cluster.context))")
        }
        lines.append("namespace   \(state.namespace)")
        if let pod = state.pod { lines.append("pod         \(pod.name) (\(pod.ready ? "ready" : "not ready"))") }
        lines.append("phase       \(state.phase)")
        if let transport = state.transport { lines.append("transport   \(transport)") }
        for forward in state.forwards {
            lines.append("forward     \(forward.address):\(forward.localPort) -> \(forward.remotePort)")
        }
        if let sync = state.lastSync {
            lines.append(
                "last sync   \(sync.files) entries, \(sync.bytes) bytes in \(Int(sync.milliseconds)) ms at \(sync.at)")
        }
        if let restart = state.lastRestart {
            lines.append(
                "last restart \(restart.built ? "ok" : "build failed"): build \(Int(restart.buildMilliseconds)) ms, "
                    + "restart \(Int(restart.restartMilliseconds)) ms at \(restart.at)")
        }
        if let crash = state.lastCrash {
            let how = [crash.exitCode.map { "exit \($0)" }, crash.reason].compactMap { $0 }.joined(separator: ", ")
            lines.append(
                "last crash  container \(crash.container) of pod \(crash.pod)" + (how.isEmpty ? "" : " (\(how))")
                    + ", restart \(crash.restartCount), \(crash.streak) in a row"
                    + (crash.backingOff ? " (CrashLoopBackOff)" : "") + " at \(crash.at)")
        }
        return lines.joined(separator: "\n")
    }
}
