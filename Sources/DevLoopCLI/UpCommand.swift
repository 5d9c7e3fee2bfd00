import ArgumentParser
import DevLoop
import Foundation

/// `devloop up`: the dev loop, until Ctrl-C.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Apply the dev deployment, sync, restart on change, forward ports and stream logs until Ctrl-C.",
        discussion: """
            Without a kubeconfig context (or with --sim) devloop starts its embedded kubesim, state under \
            <root>/.devloop/kubesim. Exit status: 0 stopped by Ctrl-C/SIGTERM or `devloop down`, 1 failure \
            at run time, 2 bad input (config, manifests, kubeconfig, a namespace without the dev label).
            """)

    @OptionGroup var options: ConfigOption

    @Option(help: "The kubeconfig context to use (default: current-context).")
    var context: String?

    @Flag(help: "Use the embedded kubesim even when a kubeconfig context exists.")
    var sim = false

    func run() async throws {
        let config = try options.load()
        do {
            _ = try DevManifests.load(config: config)
        } catch {
            throw Exit.badInput("\(error)")
        }
        let loader = KubeConfigLoader()
        let choice: ClusterChoice
        do {
            choice = try ClusterChoice.decide(loader: loader, context: context, sim: sim)
        } catch {
            throw Exit.badInput("\(error)")
        }
        let session = DevSession(config: config) {
            switch choice {
            case .embedded: try await EmbeddedCluster.start(root: config.root)
            case .kubeconfig(let kube): try await ClusterChoice.connect(kube, loader: loader)
            }
        }
        let signals = SignalWaiter(SIGINT, SIGTERM)
        let printer = Task { await StatusPrinter(colour: StatusPrinter.wantsColour).print(session.events) }
        let running = Task { try await session.run() }
        let stopper = Task {
            await signals.wait()
            running.cancel()
        }
        let outcome = await running.result
        stopper.cancel()
        await printer.value
        if case .failure(let error) = outcome {
            if error is DevNamespaceError || error is ConfigError { throw Exit.badInput("\(error)") }
            throw Exit.failure("\(error)")
        }
    }
}

/// One line per thing that happened.
struct StatusPrinter {
    var colour: Bool

    static var wantsColour: Bool {
        LogRecordFormatter.wantsColour(
            isTerminal: isatty(STDOUT_FILENO) == 1, environment: ProcessInfo.processInfo.environment)
    }

    func print(_ events: AsyncStream<SessionEvent>) async {
        let logs = LogRecordFormatter(colour: colour)
        for await event in events {
            switch event {
            case .log(let record): Output.line(logs.format(record))
            case .syncFailed(let message): Output.error("sync failed: \(message)")
            case .restartFailed(let output):
                Output.error("build failed; the old server keeps serving:\n\(output)")
            case .forward(.failed(let message)): Output.error("forward: \(message)")
            case .podWarning(let message): Output.error(message)
            case .clusterUnreachable(let message): Output.error("the cluster does not answer, retrying: \(message)")
            case .containerCrashed(let crash): Output.error(Self.describe(crash))
            default: if let line = Self.line(event) { Output.line(line) }
            }
        }
    }

    static func line(_ event: SessionEvent) -> String? {
        switch event {
        case .cluster(let cluster) where cluster.kind == "embedded":
            return "kubesim started (embedded cluster): KUBECONFIG=\(cluster.kubeconfig)"
        case .cluster(let cluster):
            return "cluster: context \(cluster.context) at \(cluster.server)"
        case .namespace(let name, let created):
            return "namespace \(name)" + (created ? " (dev namespace created by devloop)" : " (dev namespace)")
        case .applied(let objects):
            return objects.isEmpty ? nil : "applied " + objects.map(\.description).joined(separator: ", ")
        case .waiting(let what): return "waiting for \(what)"
        case .podRunning(let target): return "pod \(target.name) is running"
        case .podReady(let target): return "pod \(target.name) is ready"
        case .transport(let local, let name, let reason): return "sync \(local) via \(name) (\(reason))"
        case .initialSync(_, let report): return "initial sync: \(report.paths.count) entries shipped"
        case .forwarding(let address, let port, let remote):
            return "forwarding http://\(address):\(port) -> pod port \(remote)"
        case .changed(let change): return describe(change)
        case .podReplaced(let old, let new): return "pod \(old.name) replaced by \(new.name): full reconcile"
        case .reconciled(_, let report):
            return "reconciled \(report.paths.count) entries in \(report.duration.shortText)"
        case .stopping: return "stopping"
        case .namespaceDeleted(let name): return "namespace \(name) deleted"
        case .clusterBack(let after): return "the cluster answers again (after \(after.shortText))"
        case .forward(.connected(let target, let carrier)):
            return "port-forward to pod \(target.name) over \(describe(carrier))"
        case .containerRecovered(let pod, let crashes, let after):
            return "pod \(pod) serves again after \(crashes) crash\(crashes == 1 ? "" : "es") in \(after.shortText)"
        case .containerCrashed(let crash): return describe(crash)
        case .forward, .log, .syncFailed, .restartFailed, .podWarning, .clusterUnreachable: return nil
        }
    }

    /// `container app of pod web-1 crashed (exit 3, Error), restarting: 4th time in 9.2 s (CrashLoopBackOff)`.
    static func describe(_ crash: ContainerCrash) -> String {
        let how = [crash.exitCode.map { "exit \($0)" }, crash.reason].compactMap { $0 }.joined(separator: ", ")
        var line = "container \(crash.container) of pod \(crash.pod) crashed" + (how.isEmpty ? "" : " (\(how))")
        line += ", restarting"
        if crash.streak > 1 { line += ": \(ordinal(crash.streak)) time in \(crash.streakSpan.shortText)" }
        if crash.backingOff { line += " (CrashLoopBackOff)" }
        return line
    }

    static func ordinal(_ number: Int) -> String {
        let suffix =
            (11...13).contains(number % 100) ? "th" : [1: "st", 2: "nd", 3: "rd"][number % 10] ?? "th"
        return "\(number)\(suffix)"
    }

    /// Which protocol the forward negotiated: the only place a user sees the fallback happen.
    static func describe(_ carrier: PortForwardProtocol) -> String {
        switch carrier {
        case .spdyOverWebSocket: "SPDY/3.1 tunnelled in a WebSocket"
        case .spdy: "plain SPDY/3.1"
        case .webSocket: "v4 WebSocket streams (one per connection)"
        case .auto: "auto"
        }
    }

    static func describe(_ change: ChangeReport) -> String {
        let paths = change.sync.paths
        let files = paths.prefix(3).joined(separator: ", ") + (paths.count > 3 ? " +\(paths.count - 3)" : "")
        var line = "\(files): synced in \(change.sync.duration.shortText)"
        if let restart = change.restart {
            line +=
                restart.built
                ? ", rebuilt in \(restart.buildDuration.shortText) + restarted in \(restart.restartDuration.shortText)"
                : ", build failed (old server kept)"
        } else {
            line += ", reloaded"
        }
        if let serving = change.saveToServing { line += ", serving after \(serving.shortText)" }
        return line
    }
}
