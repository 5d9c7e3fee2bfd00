import Foundation
import Logging
import Synchronization

/// `devloop up`: one `run()` that owns every task of the dev loop in one task group, from the dev
/// namespace to the log stream, until cancelled. Everything it does is announced on `events`, and what
/// `status` needs is kept in `<root>/.devloop/session.json`.
public final class DevSession: Sendable {
    public let config: DevLoopConfig
    public let events: AsyncStream<SessionEvent>
    private let sink: AsyncStream<SessionEvent>.Continuation
    private let connectCluster: @Sendable () async throws -> ClusterConnection
    private let logger: Logger

    public init(
        config: DevLoopConfig, connect: @escaping @Sendable () async throws -> ClusterConnection,
        logger: Logger = Logger(label: "devloop.session")
    ) {
        self.config = config
        self.connectCluster = connect
        self.logger = logger
        (events, sink) = AsyncStream.makeStream(of: SessionEvent.self, bufferingPolicy: .bufferingNewest(4096))
    }

    /// The marker `devloop down` leaves before signalling: the session then deletes its namespace.
    public static func downRequestPath(root: String) -> String {
        SessionState.directory(root: root) + "/down-requested"
    }

    /// Runs until cancelled (returns normally then) or until something fails for good (thrown).
    public func run() async throws {
        defer { sink.finish() }
        let objects = try DevManifests.load(config: config)
        let lock = try SessionLock.acquire(root: config.root, config: config.file)
        defer { lock.release() }
        try? FileManager.default.removeItem(atPath: Self.downRequestPath(root: config.root))
        let state = StateRecorder(
            root: config.root, initial: SessionState(pid: getpid(), config: config.file, namespace: config.namespace))
        await state.update { _ in }
        let cluster = try await connectCluster()
        emit(.cluster(cluster.summary))
        await state.update { $0.cluster = cluster.summary }
        var failure: (any Error)?
        do {
            try await runConnected(cluster.client, objects: objects, state: state)
        } catch is CancellationError {
        } catch {
            failure = error
        }
        emit(.stopping)
        await state.update { $0.phase = "stopped" }
        if FileManager.default.fileExists(atPath: Self.downRequestPath(root: config.root)) {
            await deleteNamespace(cluster.client)
            try? FileManager.default.removeItem(atPath: Self.downRequestPath(root: config.root))
        }
        await cluster.stop()
        if let failure { throw failure }
    }

    private func emit(_ event: SessionEvent) { sink.yield(event) }

    /// Deletes the dev namespace only when it carries the dev label (and so was made by devloop).
    private func deleteNamespace(_ client: KubeClient) async {
        guard (try? await DevNamespace.verify(client: client, name: config.namespace)) != nil else { return }
        do {
            try await client.delete("/api/v1/namespaces/\(config.namespace)")
            emit(.namespaceDeleted(config.namespace))
        } catch {
            logger.error("could not delete namespace \(config.namespace): \(error)")
        }
    }

    private func runConnected(_ client: KubeClient, objects: DevManifests, state: StateRecorder) async throws {
        let namespace: DevNamespace
        do {
            namespace = try await DevNamespace.ensure(client: client, name: config.namespace)
        } catch let error as DevNamespaceError where error.isBadInput {
            throw config.namespaceError(error.description)
        }
        emit(.namespace(name: namespace.name, created: namespace.created))
        do {
            emit(.applied(try await ManifestApplier(client: client).apply(objects, into: namespace)))
        } catch let refused as ConfigError {
            // Nothing was applied: a namespace made for these manifests goes again, leaving the cluster as it was.
            if namespace.created { try? await client.delete("/api/v1/namespaces/\(namespace.name)") }
            throw refused
        }
        let outage = OutageReporter { [sink] in sink.yield($0) }
        let tracker = PodTracker(
            client: client, namespace: namespace.name, selector: config.pod.labelSelector,
            container: config.pod.container, onHealth: outage.report)
        var engines: [(SyncMapping, SyncEngine)] = []
        var forwards: [PortForwardSession] = []
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await tracker.run() }
                group.addTask { await self.followPods(tracker, state: state) }
                let timeout = config.pod.readyTimeout
                emit(.podRunning(try await tracker.target(.running, within: timeout)))
                let executor = TrackedExecutor(client: client, tracker: tracker, waitTimeout: timeout)
                for mapping in config.sync {
                    let transport = try await chooseTransport(mapping, executor: executor)
                    await state.update { $0.transport = transport.name }
                    let engine = SyncEngine(options: mapping.syncOptions, transport: transport)
                    engines.append((mapping, engine))
                    let batch = try await engine.start()
                    emit(
                        .initialSync(
                            local: mapping.local,
                            SyncReport(paths: batch.operations.map(\.path), bytes: 0, duration: .zero)))
                }
                let ready = try await tracker.target(.ready, within: timeout)
                emit(.podReady(ready))
                for (index, spec) in config.forwards.enumerated() {
                    let remote = try await describePort(spec.remotePort, index: index, tracker: tracker)
                    let forward = PortForwardSession(
                        client: client, target: tracker, spec: spec,
                        remotePort: { [config] target in
                            try await Self.resolve(
                                spec.remotePort, of: target, tracker: tracker, container: config.pod.container)
                        }, logger: logger)
                    let port = try await forward.start()
                    forwards.append(forward)
                    emit(.forwarding(address: spec.address, localPort: port, remotePort: remote))
                    await state.update {
                        $0.forwards.append(
                            .init(address: spec.address, localPort: port, remotePort: spec.remotePort.description))
                    }
                    group.addTask { for await event in forward.events { self.emit(.forward(event)) } }
                }
                let probePort = state.forwardPortSnapshot()
                for (mapping, engine) in engines {
                    let restarter = config.restart.map {
                        InPodRestarter(executor: executor, policy: $0, remoteRoot: mapping.remote)
                    }
                    group.addTask {
                        await self.follow(
                            engine, mapping: mapping, restarter: restarter, probe: probePort, state: state)
                    }
                }
                let allEngines = engines.map(\.1)
                let mappings = engines.map(\.0)
                group.addTask { await self.reconcileAfterReplacement(tracker, engines: allEngines, mappings: mappings) }
                group.addTask { await self.streamLogs(client) }
                await state.update { $0.phase = "serving" }
                while try await group.next() != nil {}
            }
        } catch {
            await stop(engines: engines.map(\.1), forwards: forwards)
            throw error
        }
        await stop(engines: engines.map(\.1), forwards: forwards)
    }

    private func stop(engines: [SyncEngine], forwards: [PortForwardSession]) async {
        for forward in forwards { await forward.stop() }
        for engine in engines { await engine.stop() }
    }

    private func chooseTransport(_ mapping: SyncMapping, executor: TrackedExecutor) async throws -> any SyncTransport {
        let options = mapping.syncOptions
        let choice: TransportSelector.Choice
        switch config.transport {
        case .exec:
            choice = .init(
                transport: ExecTarTransport(
                    source: options.source, destination: options.destination, executor: executor),
                reason: "exec+tar: the config says transport: exec")
        case .auto:
            choice = await TransportSelector.select(options: options, executor: executor)
        case .hostPath:
            choice = await TransportSelector.select(options: options, executor: executor)
            guard choice.transport.name == "hostPath" else {
                throw SessionError.transport("transport: hostPath, but \(choice.reason)")
            }
        }
        emit(.transport(local: mapping.local, name: choice.transport.name, reason: choice.reason))
        return choice.transport
    }

    static func resolve(_ port: PortReference, of target: PodTarget, tracker: PodTracker, container: String?)
        async throws
        -> UInt16
    {
        if case .number(let number) = port { return number }
        let pod = await tracker.currentPod
        guard let pod, pod.uid == target.uid, let number = pod.port(port, container: container) else {
            throw PortForwardError.remote(
                pod: target.name, port: 0,
                message: "no container port named \(port) (named ports: \(pod?.namedPorts ?? "unknown"))")
        }
        return number
    }

    /// The forward's container port as the status line shows it (`http (5000)` for a name), checked
    /// against the ready pod before the local port opens: a name it does not declare ends the session,
    /// as kubectl port-forward refuses one, instead of failing every connection.
    private func describePort(_ port: PortReference, index: Int, tracker: PodTracker) async throws -> String {
        guard case .name = port else { return port.description }
        guard let pod = await tracker.currentPod else { return port.description }
        guard let number = pod.port(port, container: config.pod.container) else {
            throw SessionError.forward(
                "\(config.file): forwards[\(index)].remote: pod \(pod.name) declares no container port named `\(port)` "
                    + "(named ports: \(pod.namedPorts))")
        }
        return "\(port) (\(number))"
    }

    /// Progress lines while the pod is not ready, and the pod in `session.json`.
    private func followPods(_ tracker: PodTracker, state: StateRecorder) async {
        var last = ""
        var crashes = CrashHistory()
        for await event in await tracker.subscribe() {
            switch event {
            case .added(let pod), .changed(let pod), .notReady(let pod), .ready(let pod):
                if let crash = crashes.observe(pod, container: config.pod.container, at: .now) {
                    emit(.containerCrashed(crash))
                    await state.update { $0.lastCrash = SessionState.Crash(crash, at: Date()) }
                }
            case .deleted(let pod): crashes.forget(pod)
            case .replaced: break
            }
            switch event {
            case .added(let pod), .changed(let pod), .notReady(let pod):
                guard pod.deletionTimestamp == nil, !pod.isServing else { continue }
                let line = pod.waitingFor
                if line != last {
                    last = line
                    emit(.waiting(line))
                    await state.update { $0.phase = "waiting for \(line)" }
                }
                await state.update { $0.pod = .init(name: pod.name, uid: pod.uid, ready: false) }
            case .ready(let pod):
                last = ""
                if let recovery = crashes.recovered(at: .now) {
                    emit(.containerRecovered(pod: pod.name, crashes: recovery.crashes, after: recovery.since))
                }
                await state.update {
                    $0.pod = .init(name: pod.name, uid: pod.uid, ready: true)
                    $0.phase = "serving"
                }
            case .deleted, .replaced: continue
            }
        }
    }

    /// A replaced pod first gets the whole current tree: nothing edited while no pod ran is lost.
    private func reconcileAfterReplacement(_ tracker: PodTracker, engines: [SyncEngine], mappings: [SyncMapping]) async
    {
        for await event in await tracker.subscribe() {
            guard case .replaced(let old, let new) = event else { continue }
            emit(.podReplaced(old: old, new: new))
            for (engine, mapping) in zip(engines, mappings) {
                let started = ContinuousClock.now
                do {
                    let batch = try await engine.resync()
                    emit(
                        .reconciled(
                            local: mapping.local,
                            SyncReport(paths: batch.operations.map(\.path), bytes: 0, duration: .now - started)))
                } catch {
                    emit(.syncFailed("\(error)"))
                }
            }
        }
    }

    private func follow(
        _ engine: SyncEngine, mapping: SyncMapping, restarter: InPodRestarter?, probe: (String, UInt16)?,
        state: StateRecorder
    ) async {
        let restartPaths = config.restart.map { RestartMatcher(patterns: $0.paths) }
        await restarter?.prepare()
        for await event in engine.events {
            switch event {
            case .reconciled: continue
            case .failed(let message): emit(.syncFailed(message))
            case .shipped(let report):
                let started = ContinuousClock.now - report.duration
                var outcome: RestartOutcome?
                if let restarter, restartPaths?.touches(report.paths) ?? false {
                    do {
                        let result = try await restarter.restart()
                        outcome = result
                        if !result.built { emit(.restartFailed(output: result.buildOutput)) }
                    } catch {
                        emit(.restartFailed(output: "\(error)"))
                    }
                }
                var serving: Duration?
                if let (address, port) = probe,
                    await ServingProbe.waitUntilServing(address: address, port: port, timeout: .seconds(30))
                {
                    serving = .now - started
                }
                emit(.changed(ChangeReport(sync: report, restart: outcome, saveToServing: serving)))
                await state.update {
                    $0.lastSync = .init(
                        at: Date(), files: report.paths.count, bytes: report.bytes,
                        milliseconds: report.duration.milliseconds)
                    if let outcome {
                        $0.lastRestart = .init(
                            at: Date(), built: outcome.built, buildMilliseconds: outcome.buildDuration.milliseconds,
                            restartMilliseconds: outcome.restartDuration.milliseconds)
                    }
                }
            }
        }
        await restarter?.close()
    }

    private func streamLogs(_ client: KubeClient) async {
        let streamer = PodLogStreamer(client: client, namespace: config.namespace, selector: config.pod.labelSelector)
        do {
            for try await record in streamer.records() { emit(.log(record)) }
        } catch {
            emit(.podWarning("the log stream stopped: \(error)"))
        }
    }
}

/// Whether a batch touched a path that needs a rebuild (gitignore syntax, relative to the mapping).
struct RestartMatcher: Sendable {
    let patterns: [IgnorePattern]

    init(patterns: [String]) {
        self.patterns = IgnorePattern.parse(patterns.joined(separator: "\n"), base: "")
    }

    func touches(_ paths: [String]) -> Bool {
        paths.contains { path in
            let bytes = Array(path.utf8)
            let name = path.split(separator: "/").last.map { Array($0.utf8)[...] } ?? bytes[...]
            return patterns.contains { !$0.negated && $0.matches(path: bytes, name: name, isDirectory: false) }
        }
    }
}

/// Serialises updates of `session.json`.
actor StateRecorder {
    let root: String
    private var state: SessionState
    /// The first forward's bound address and port, which the serving probe asks.
    private nonisolated let forwardPort = Mutex<(String, UInt16)?>(nil)

    init(root: String, initial: SessionState) {
        self.root = root
        self.state = initial
    }

    func update(_ change: (inout SessionState) -> Void) {
        change(&state)
        if let first = state.forwards.first { forwardPort.withLock { $0 = (first.address, first.localPort) } }
        try? state.write(root: root)
    }

    nonisolated func forwardPortSnapshot() -> (String, UInt16)? { forwardPort.withLock { $0 } }
}

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

/// Turns the pod watch's health into one event when the API server goes away and one when it is back.
private final class OutageReporter: Sendable {
    private let began = Mutex<ContinuousClock.Instant?>(nil)
    private let emit: @Sendable (SessionEvent) -> Void

    init(emit: @escaping @Sendable (SessionEvent) -> Void) { self.emit = emit }

    func report(_ health: StreamHealth) {
        switch health {
        case .interrupted(let error):
            let first = began.withLock { began in
                if began != nil { return false }
                began = .now
                return true
            }
            if first { emit(.clusterUnreachable("\(error)")) }
        case .resumed:
            if let since = began.withLock({ began in
                defer { began = nil }; return began
            }) {
                emit(.clusterBack(after: .now - since))
            }
        }
    }
}
