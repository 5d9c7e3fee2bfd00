import Foundation

/// The parts of a pod devloop acts on, decoded from the API's JSON.
public struct Pod: Sendable, Equatable {
    public struct Container: Sendable, Equatable {
        public var name: String
        /// Declared container ports: number, and name when it has one.
        public var ports: [(name: String?, number: UInt16)]

        public static func == (a: Container, b: Container) -> Bool {
            a.name == b.name && a.ports.map(\.number) == b.ports.map(\.number)
                && a.ports.map(\.name) == b.ports.map(\.name)
        }
    }

    public enum ContainerState: Sendable, Equatable {
        case waiting(reason: String?)
        case running
        case terminated(exitCode: Int, reason: String?)
        case unknown
    }

    public struct ContainerStatus: Sendable, Equatable {
        public var name: String
        public var ready: Bool
        public var restartCount: Int
        public var state: ContainerState
        /// How the previous instance ended (`terminated` after a crash), nil before the first restart.
        public var lastState: ContainerState?
    }

    public var namespace: String
    public var name: String
    public var uid: String
    public var phase: String
    public var nodeName: String?
    public var scheduled: Bool
    public var ready: Bool
    public var deletionTimestamp: String?
    public var creationTimestamp: String
    public var defaultContainerAnnotation: String?
    public var containers: [Container]
    public var containerStatuses: [ContainerStatus]

    /// Fails when the object lacks what every pod has (name, uid).
    public init(json: JSONValue) throws {
        guard let name = json[path: "metadata", "name"]?.string, let uid = json[path: "metadata", "uid"]?.string else {
            throw KubeClientError.protocolViolation("a pod object without metadata.name or metadata.uid")
        }
        self.name = name
        self.uid = uid
        namespace = json[path: "metadata", "namespace"]?.string ?? ""
        phase = json[path: "status", "phase"]?.string ?? "Pending"
        nodeName = json[path: "spec", "nodeName"]?.string
        deletionTimestamp = json[path: "metadata", "deletionTimestamp"]?.string
        creationTimestamp = json[path: "metadata", "creationTimestamp"]?.string ?? ""
        defaultContainerAnnotation =
            json[path: "metadata", "annotations", "kubectl.kubernetes.io/default-container"]?.string
        let conditions = json[path: "status", "conditions"]?.array ?? []
        func condition(_ type: String) -> Bool {
            conditions.contains { $0["type"]?.string == type && $0["status"]?.string == "True" }
        }
        ready = condition("Ready")
        scheduled = condition("PodScheduled") || nodeName != nil
        containers = (json[path: "spec", "containers"]?.array ?? []).map { container in
            Container(
                name: container["name"]?.string ?? "",
                ports: (container["ports"]?.array ?? []).compactMap { port in
                    guard let number = port["containerPort"]?.int, let value = UInt16(exactly: number) else {
                        return nil
                    }
                    return (port["name"]?.string, value)
                })
        }
        containerStatuses = (json[path: "status", "containerStatuses"]?.array ?? []).map { status in
            ContainerStatus(
                name: status["name"]?.string ?? "", ready: status["ready"]?.bool ?? false,
                restartCount: status["restartCount"]?.int ?? 0, state: Self.state(status["state"]) ?? .unknown,
                lastState: Self.state(status["lastState"]))
        }
    }

    /// A container state object (`{waiting: …}`, `{running: …}`, `{terminated: …}`); nil when empty.
    private static func state(_ json: JSONValue?) -> ContainerState? {
        if let waiting = json?["waiting"] { return .waiting(reason: waiting["reason"]?.string) }
        if json?["running"] != nil { return .running }
        if let terminated = json?["terminated"] {
            return .terminated(exitCode: terminated["exitCode"]?.int ?? -1, reason: terminated["reason"]?.string)
        }
        return nil
    }

    /// Ready and not being deleted: the only pod a consumer may act on.
    public var isServing: Bool { ready && deletionTimestamp == nil && phase == "Running" }

    /// The container devloop works with: the named one, else the default-container annotation, else the first.
    public func containerName(_ requested: String?) -> String? {
        requested ?? defaultContainerAnnotation ?? containers.first?.name
    }

    public func target(container: String?) -> PodTarget {
        PodTarget(namespace: namespace, name: name, uid: uid, container: containerName(container))
    }

    /// A port reference resolved against the declared container ports (a name must be declared): the
    /// chosen container's first, then any other's, as kubectl port-forward resolves a name (a forward
    /// reaches the pod's network namespace, whichever container listens).
    public func port(_ reference: PortReference, container: String?) -> UInt16? {
        switch reference {
        case .number(let number): return number
        case .name(let wanted):
            let chosen = containerName(container)
            let ordered = containers.filter { $0.name == chosen } + containers.filter { $0.name != chosen }
            return ordered.lazy.compactMap { $0.ports.first { $0.name == wanted }?.number }.first
        }
    }

    /// The named container ports, for a message: `http=5000 (app), metrics=9100 (sidecar)`, or `none`.
    public var namedPorts: String {
        let named = containers.flatMap { container in
            container.ports.compactMap { port in port.name.map { "\($0)=\(port.number) (\(container.name))" } }
        }
        return named.isEmpty ? "none" : named.joined(separator: ", ")
    }

    public func status(of container: String?) -> ContainerStatus? {
        let chosen = containerName(container)
        return containerStatuses.first { $0.name == chosen }
    }

    /// What a user waiting for this pod is waiting for, in a few words.
    public var waitingFor: String {
        if deletionTimestamp != nil { return "pod \(name) is terminating" }
        if !scheduled { return "pod \(name) to be scheduled" }
        for status in containerStatuses {
            switch status.state {
            case .waiting(let reason):
                return "container \(status.name) to start" + (reason.map { " (\($0))" } ?? "")
            case .terminated(let code, let reason):
                return "container \(status.name) to restart (exited \(code)\(reason.map { ", \($0)" } ?? ""))"
            case .running where !status.ready:
                return "container \(status.name) to become ready (building/starting the server)"
            default: continue
            }
        }
        if containerStatuses.isEmpty { return "pod \(name) to start its containers" }
        return ready ? "nothing: pod \(name) is ready" : "pod \(name) to become ready"
    }
}
