// Minimal stand-ins for parts other helpers deliver (config loader, namespace guard, forward session,
// log streamer, in-pod restarter), with exactly the APIs the session codes against. The lead deletes
// this file when merging the real ones.
import Foundation
import Logging
import Yams

#if canImport(Glibc)
    import Glibc
#endif

// MARK: - Config (helper C)

public struct ConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int
    public var column: Int
    public var field: String
    public var message: String

    public init(file: String, line: Int, column: Int, field: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(field): \(message)" }
}

public enum ConfigLoader {
    public static func load(path: String) throws -> DevLoopConfig {
        let file = URL(fileURLWithPath: path).standardizedFileURL.path
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ConfigError(file: file, line: 1, column: 1, field: "(file)", message: "cannot be read")
        }
        return try load(yaml: text, file: file)
    }

    public static func load(yaml: String, file: String) throws -> DevLoopConfig {
        let reader = StandInConfigReader(file: file)
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError(file: file, line: 1, column: 1, field: "(file)", message: "not valid YAML")
        }
        guard let node, let top = node.mapping else {
            throw ConfigError(file: file, line: 1, column: 1, field: "(file)", message: "must be a mapping")
        }
        return try reader.config(top, node)
    }
}

private struct StandInConfigReader {
    let file: String

    func fail(_ node: Node?, _ field: String, _ message: String) -> ConfigError {
        ConfigError(
            file: file, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1, field: field, message: message)
    }

    func keys(_ mapping: Node.Mapping, _ node: Node, _ field: String, allowed: Set<String>) throws -> [String: Node] {
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            let name = key.string ?? ""
            let path = field.isEmpty ? name : "\(field).\(name)"
            guard allowed.contains(name) else { throw fail(key, path, "unknown key") }
            result[name] = value
        }
        return result
    }

    func string(_ node: Node?, _ field: String, required: Bool = true, in parent: Node) throws -> String? {
        guard let node else {
            if required { throw fail(parent, field, "missing") }
            return nil
        }
        guard let scalar = node.scalar else { throw fail(node, field, "must be a string") }
        return scalar.string
    }

    func strings(_ node: Node?, _ field: String) throws -> [String] {
        guard let node else { return [] }
        guard let sequence = node.sequence else { throw fail(node, field, "must be a list") }
        return try sequence.enumerated().map { index, item in
            guard let value = item.scalar?.string else { throw fail(item, "\(field)[\(index)]", "must be a string") }
            return value
        }
    }

    func duration(_ node: Node?, _ field: String, default value: Duration) throws -> Duration {
        guard let node else { return value }
        guard let text = node.scalar?.string, let number = Double(text.dropLast(text.hasSuffix("ms") ? 2 : 1)) else {
            throw fail(node, field, "must be a duration such as 30s")
        }
        switch true {
        case text.hasSuffix("ms"): return .milliseconds(number)
        case text.hasSuffix("s"): return .seconds(number)
        case text.hasSuffix("m"): return .seconds(number * 60)
        case text.hasSuffix("h"): return .seconds(number * 3600)
        default: throw fail(node, field, "must be a duration such as 30s")
        }
    }

    func resolve(_ path: String, against base: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
    }

    func config(_ top: Node.Mapping, _ node: Node) throws -> DevLoopConfig {
        let fields = try keys(
            top, node, "",
            allowed: ["root", "namespace", "manifests", "pod", "sync", "restart", "forwards", "transport"])
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent().path
        let root = resolve(try string(fields["root"], "root", required: false, in: node) ?? ".", against: folder)
        let namespace = try string(fields["namespace"], "namespace", in: node)!
        if namespace == "default" || namespace.hasPrefix("kube-") || namespace.isEmpty {
            throw fail(fields["namespace"], "namespace", "\"\(namespace)\" cannot be a dev namespace")
        }
        guard fields["manifests"] != nil else { throw fail(node, "manifests", "missing") }
        let manifests = try strings(fields["manifests"], "manifests").map { resolve($0, against: root) }
        guard let podNode = fields["pod"], let podMap = podNode.mapping else {
            throw fail(fields["pod"] ?? node, "pod", fields["pod"] == nil ? "missing" : "must be a mapping")
        }
        let pod = try keys(podMap, podNode, "pod", allowed: ["selector", "container", "readyTimeout"])
        var selector: [String: String] = [:]
        if let map = pod["selector"]?.mapping {
            for (key, value) in map { selector[key.string ?? ""] = value.string ?? "" }
        } else if let text = try string(pod["selector"], "pod.selector", in: podNode) {
            for pair in text.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw fail(pod["selector"], "pod.selector", "must be key=value pairs") }
                selector[parts[0]] = parts[1]
            }
        }
        if selector.isEmpty { throw fail(pod["selector"], "pod.selector", "must not be empty") }
        guard let syncNode = fields["sync"], let syncList = syncNode.sequence, !syncList.isEmpty else {
            throw fail(fields["sync"] ?? node, "sync", "needs at least one mapping")
        }
        let sync = try syncList.enumerated().map { index, item -> SyncMapping in
            let field = "sync[\(index)]"
            guard let map = item.mapping else { throw fail(item, field, "must be a mapping") }
            let entry = try keys(map, item, field, allowed: ["from", "to", "hostPath", "exclude", "podOwned"])
            let local = resolve(try string(entry["from"], "\(field).from", in: item)!, against: root)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: local, isDirectory: &isFolder), isFolder.boolValue else {
                throw fail(entry["from"], "\(field).from", "\(local) is not a folder")
            }
            let remote = try string(entry["to"], "\(field).to", in: item)!
            guard remote.hasPrefix("/") else { throw fail(entry["to"], "\(field).to", "must be absolute") }
            return SyncMapping(
                local: local, remote: remote,
                hostPath: try string(entry["hostPath"], "\(field).hostPath", required: false, in: item),
                excludes: try strings(entry["exclude"], "\(field).exclude"),
                podOwned: try strings(entry["podOwned"], "\(field).podOwned"))
        }
        var restart: RestartPolicy?
        if let restartNode = fields["restart"] {
            guard let map = restartNode.mapping else { throw fail(restartNode, "restart", "must be a mapping") }
            let entry = try keys(map, restartNode, "restart", allowed: ["paths", "build", "run"])
            restart = RestartPolicy(
                paths: try strings(entry["paths"], "restart.paths"),
                build: try string(entry["build"], "restart.build", required: false, in: restartNode),
                run: try string(entry["run"], "restart.run", in: restartNode)!)
        }
        var forwards = [ForwardSpec()]
        if let forwardNode = fields["forwards"] {
            guard let list = forwardNode.sequence else { throw fail(forwardNode, "forwards", "must be a list") }
            var seen = Set<String>()
            forwards = try list.enumerated().map { index, item in
                let field = "forwards[\(index)]"
                guard let map = item.mapping else { throw fail(item, field, "must be a mapping") }
                let entry = try keys(map, item, field, allowed: ["local", "remote", "address", "waitTimeout"])
                guard let localText = try string(entry["local"], "\(field).local", in: item),
                    let local = UInt16(localText)
                else { throw fail(entry["local"], "\(field).local", "must be a port number") }
                let remoteText = try string(entry["remote"], "\(field).remote", in: item)!
                let address = try string(entry["address"], "\(field).address", required: false, in: item) ?? "127.0.0.1"
                guard seen.insert("\(address):\(local)").inserted else {
                    throw fail(entry["local"], "\(field).local", "port \(local) is forwarded twice")
                }
                return ForwardSpec(
                    address: address, localPort: local,
                    remotePort: UInt16(remoteText).map(PortReference.number) ?? .name(remoteText),
                    waitTimeout: try duration(entry["waitTimeout"], "\(field).waitTimeout", default: .seconds(30)))
            }
        }
        var transport = TransportChoice.auto
        if let text = try string(fields["transport"], "transport", required: false, in: node) {
            guard let choice = TransportChoice(rawValue: text) else {
                throw fail(fields["transport"], "transport", "must be auto, hostPath or exec")
            }
            transport = choice
        }
        return DevLoopConfig(
            file: file, root: root, namespace: namespace, manifests: manifests,
            pod: PodSelection(
                selector: selector,
                container: try string(pod["container"], "pod.container", required: false, in: podNode),
                readyTimeout: try duration(pod["readyTimeout"], "pod.readyTimeout", default: .seconds(600))),
            sync: sync, restart: restart, forwards: forwards, transport: transport)
    }
}

/// The dev manifests of a config, scoped to its namespace before anything is sent.
public enum DevManifests {
    public static func load(config: DevLoopConfig) throws -> [JSONValue] {
        var objects: [JSONValue] = []
        for path in config.manifests {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw ConfigError(
                    file: config.file, line: 1, column: 1, field: "manifests", message: "\(path) does not exist")
            }
            let files =
                isFolder.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter {
                    $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json")
                }.sorted().map { path + "/" + $0 } : [path]
            for file in files {
                let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
                let documents: [JSONValue]
                do {
                    documents = try ManifestApplier.documents(text, source: file)
                } catch {
                    throw ConfigError(file: file, line: 1, column: 1, field: "(document)", message: "\(error)")
                }
                for (index, document) in documents.enumerated() {
                    let kind = document["kind"]?.string ?? ""
                    let name = document[path: "metadata", "name"]?.string ?? ""
                    let namespace = document[path: "metadata", "namespace"]?.string
                    if kind == "Namespace"
                        ? name != config.namespace : (namespace ?? config.namespace) != config.namespace
                    {
                        throw ConfigError(
                            file: file, line: 1, column: 1, field: "document \(index + 1) metadata.namespace",
                            message: "\(kind)/\(name) is outside the dev namespace \(config.namespace)")
                    }
                    objects.append(document)
                }
            }
        }
        return objects
    }
}

public enum DevNamespaceError: Error, Sendable, CustomStringConvertible {
    case unlabelled(String)

    public var description: String {
        switch self {
        case .unlabelled(let name):
            return "namespace \(name) exists without the label \(DevLoopConfig.devLabel.key)="
                + "\(DevLoopConfig.devLabel.value): devloop does not touch it (pick another namespace)"
        }
    }
}

/// A namespace verified to carry the dev label: the only thing the applier applies into.
public struct DevNamespace: Sendable, Equatable {
    public let name: String
    /// Whether devloop created it (annotation `devloop.dev/created-by=devloop`).
    public let createdByDevloop: Bool

    public static func ensure(client: KubeClient, name: String) async throws -> DevNamespace {
        if let existing = try await verify(client: client, name: name) { return existing }
        let body: JSONValue = .object([
            "apiVersion": .string("v1"), "kind": .string("Namespace"),
            "metadata": .object([
                "name": .string(name),
                "labels": .object([DevLoopConfig.devLabel.key: .string(DevLoopConfig.devLabel.value)]),
                "annotations": .object(["devloop.dev/created-by": .string("devloop")]),
            ]),
        ])
        _ = try await client.create("/api/v1/namespaces", body)
        return DevNamespace(name: name, createdByDevloop: true)
    }

    /// nil when absent; throws when it exists without the dev label.
    public static func verify(client: KubeClient, name: String) async throws -> DevNamespace? {
        let object: JSONValue
        do {
            object = try await client.get("/api/v1/namespaces/\(name)")
        } catch let error as KubeClientError where error.statusCode == 404 {
            return nil
        }
        guard object[path: "metadata", "labels", DevLoopConfig.devLabel.key]?.string == DevLoopConfig.devLabel.value
        else { throw DevNamespaceError.unlabelled(name) }
        return DevNamespace(
            name: name,
            createdByDevloop: object[path: "metadata", "annotations", "devloop.dev/created-by"]?.string == "devloop")
    }
}

extension ManifestApplier {
    public func apply(_ objects: [JSONValue], into namespace: DevNamespace) async throws -> [AppliedObject] {
        var results: [AppliedObject] = []
        for object in objects where object["kind"]?.string != "Namespace" {
            guard (object[path: "metadata", "namespace"]?.string ?? namespace.name) == namespace.name else { continue }
            var body = object
            if case .object(var fields) = body, case .object(var metadata)? = fields["metadata"] {
                metadata["namespace"] = .string(namespace.name)
                fields["metadata"] = .object(metadata)
                body = .object(fields)
            }
            results.append(try await apply(body))
        }
        return results
    }
}

// MARK: - Forward (helper G)

public enum ForwardEvent: Sendable, Equatable {
    case connected(PodTarget)
    case failed(String)
    case targetChanged(PodTarget)
}

/// One local port carried to the current ready pod; every connection asks the target source anew.
public final class PortForwardSession: Sendable {
    public let client: KubeClient
    public let target: any PodTargetSource
    public let spec: ForwardSpec
    public let events: AsyncStream<ForwardEvent>
    private let sink: AsyncStream<ForwardEvent>.Continuation
    private let remotePort: @Sendable (PodTarget) async throws -> UInt16
    private let listener = Locked<LocalListener?>(nil)
    private let logger: Logger

    public init(
        client: KubeClient, target: any PodTargetSource, spec: ForwardSpec,
        remotePort: (@Sendable (PodTarget) async throws -> UInt16)? = nil,
        logger: Logger = Logger(label: "devloop.forward")
    ) {
        self.client = client
        self.target = target
        self.spec = spec
        self.logger = logger
        let port = spec.remotePort
        self.remotePort =
            remotePort ?? { _ in
                guard case .number(let number) = port else {
                    throw PortForwardError.remote(pod: "?", port: 0, message: "port name \(port) needs a resolver")
                }
                return number
            }
        (events, sink) = AsyncStream.makeStream(of: ForwardEvent.self, bufferingPolicy: .bufferingNewest(64))
    }

    public func start() async throws -> UInt16 {
        let listener = try LocalListener(port: spec.localPort)
        self.listener.withLock { $0 = listener }
        listener.start { [self] socket in Task { await carry(socket) } }
        return listener.port
    }

    public func stop() async {
        listener.withLock { $0?.stop() }
        sink.finish()
    }

    private func carry(_ local: Int32) async {
        let pod: PodTarget
        let port: UInt16
        do {
            pod = try await target.readyTarget(within: spec.waitTimeout)
            port = try await remotePort(pod)
        } catch {
            sink.yield(.failed("\(error)"))
            Glibc.close(local)
            return
        }
        let stream = PortForwardChannels(local: local, halfClosedIdle: .seconds(10)) { [sink] message in
            sink.yield(.failed("\(pod.name):\(port): \(message)"))
        }
        let connection: WebSocketConnection
        do {
            connection = try await client.webSocket(
                "/api/v1/namespaces/\(pod.namespace)/pods/\(pod.name)/portforward", query: [("ports", String(port))],
                protocols: ["v4.channel.k8s.io"], handler: { stream.receive($0) }, readGate: { stream.acceptsMore })
        } catch {
            sink.yield(.failed("\(error)"))
            Glibc.close(local)
            return
        }
        sink.yield(.connected(pod))
        let uploaded = DispatchSemaphore(value: 0)
        let up = Thread {
            stream.pumpLocal(to: connection)
            uploaded.signal()
        }
        let down = Thread {
            stream.pumpRemote()
            uploaded.wait()
            connection.waitUntilFinished()
            Glibc.close(local)
        }
        up.start()
        down.start()
    }
}

// MARK: - Logs (helper B)

public struct LogRecord: Sendable, Equatable {
    public var pod: String
    public var container: String
    public var timestamp: String
    public var text: String
}

public struct LogStreamOptions: Sendable, Equatable {
    public var since: Duration?
    public var tail: Int?
    public var timestamps: Bool
    public var follow: Bool

    public init(since: Duration? = nil, tail: Int? = nil, timestamps: Bool = false, follow: Bool = true) {
        self.since = since
        self.tail = tail
        self.timestamps = timestamps
        self.follow = follow
    }
}

/// Every container of every pod matching a selector.
public struct PodLogStreamer: Sendable {
    public let client: KubeClient
    public let namespace: String
    public let selector: String
    public let options: LogStreamOptions

    public init(client: KubeClient, namespace: String, selector: String, options: LogStreamOptions = .init()) {
        self.client = client
        self.namespace = namespace
        self.selector = selector
        self.options = options
    }

    public func records() -> AsyncThrowingStream<LogRecord, Error> {
        AsyncThrowingStream(bufferingPolicy: .bufferingNewest(4096)) { continuation in
            let task = Task {
                do {
                    try await options.follow ? follow(continuation) : once(continuation)
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error is CancellationError ? nil : error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func once(_ out: AsyncThrowingStream<LogRecord, Error>.Continuation) async throws {
        let list = try await client.get("/api/v1/namespaces/\(namespace)/pods", query: [("labelSelector", selector)])
        for item in list["items"]?.array ?? [] {
            guard let pod = try? Pod(json: item) else { continue }
            for container in pod.containers {
                var query = [("container", container.name), ("timestamps", "true")]
                if let tail = options.tail { query.append(("tailLines", String(tail))) }
                if let since = options.since {
                    query.append(("sinceSeconds", String(max(1, since.components.seconds))))
                }
                let body = try await client.send(
                    "GET", "/api/v1/namespaces/\(namespace)/pods/\(pod.name)/log", query: query)
                for line in String(decoding: body.body, as: UTF8.self).split(separator: "\n") {
                    let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                    out.yield(
                        LogRecord(
                            pod: pod.name, container: container.name, timestamp: parts.first ?? "",
                            text: parts.count > 1 ? parts[1] : ""))
                }
            }
        }
    }

    private func follow(_ out: AsyncThrowingStream<LogRecord, Error>.Continuation) async throws {
        let watcher = ResourceWatcher(
            client: client, path: "/api/v1/namespaces/\(namespace)/pods", labelSelector: selector)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var started = Set<String>()
            for try await event in watcher.events() where event.kind != .deleted {
                guard let pod = try? Pod(json: event.object), pod.deletionTimestamp == nil,
                    !pod.containerStatuses.isEmpty, started.insert(pod.uid).inserted
                else { continue }
                for container in pod.containers {
                    let follower = LogFollower(
                        client: client, namespace: namespace, pod: pod.name, container: container.name)
                    group.addTask {
                        for try await line in follower.lines() {
                            out.yield(
                                LogRecord(
                                    pod: pod.name, container: container.name, timestamp: line.timestamp, text: line.text
                                ))
                        }
                    }
                }
            }
            group.cancelAll()
        }
    }
}

/// Prefixes lines with a short pod/container name, coloured per name when asked to.
public struct LogFormatter: Sendable {
    public var colour: Bool
    public var timestamps: Bool

    public init(colour: Bool, timestamps: Bool = false) {
        self.colour = colour
        self.timestamps = timestamps
    }

    public func format(_ record: LogRecord) -> String {
        let short = record.pod.split(separator: "-").last.map(String.init) ?? record.pod
        let prefix = "\(short)/\(record.container)"
        let stamp = timestamps ? record.timestamp + " " : ""
        guard colour else { return "\(prefix) | \(stamp)\(record.text)" }
        let code = 31 + Int(prefix.utf8.reduce(UInt32(7)) { ($0 &* 31) &+ UInt32($1) } % 6)
        return "\u{1B}[\(code)m\(prefix)\u{1B}[0m | \(stamp)\(record.text)"
    }
}

// MARK: - Restart (helper D2)

public struct RestartOutcome: Sendable, Equatable {
    public var built: Bool
    public var buildOutput: String
    public var buildDuration: Duration
    public var restartDuration: Duration
}

/// Rebuilds and restarts the server in the running container through the in-pod supervisor.
public struct InPodRestarter: Sendable {
    public let executor: any ContainerExecutor
    public let policy: RestartPolicy
    public let remoteRoot: String

    public init(executor: any ContainerExecutor, policy: RestartPolicy, remoteRoot: String) {
        self.executor = executor
        self.policy = policy
        self.remoteRoot = remoteRoot
    }

    public func restart() async throws -> RestartOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        let result = try await executor.run(["sh", remoteRoot + "/dev/supervisor.sh", "restart"], stdin: Data())
        let output = String(decoding: result.stdout + result.stderr, as: UTF8.self)
        return RestartOutcome(
            built: result.exitCode == 0, buildOutput: output, buildDuration: clock.now - started, restartDuration: .zero
        )
    }
}
