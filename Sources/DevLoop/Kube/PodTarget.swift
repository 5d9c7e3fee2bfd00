/// One container of one pod instance: what exec, sync, forwards and logs act on. The `uid` tells a
/// replacement pod from the pod it replaces even when a StatefulSet reuses the name.
public struct PodTarget: Sendable, Hashable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    public var uid: String
    public var container: String?

    public init(namespace: String, name: String, uid: String = "", container: String? = nil) {
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.container = container
    }

    public var description: String { "\(namespace)/\(name)" + (container.map { "[\($0)]" } ?? "") }
}

/// Hands out the pod to act on now. Consumers resolve it per call or per connection, so a replaced pod
/// needs no rebuilt forwarders, executors or followers.
public protocol PodTargetSource: Sendable {
    /// The current ready target; waits up to `timeout` for one to become ready, then throws.
    func readyTarget(within timeout: Duration) async throws -> PodTarget
}

/// A source that always names the same pod: for tests and for commands given a pod by name.
public struct FixedPodTarget: PodTargetSource {
    public var target: PodTarget

    public init(_ target: PodTarget) { self.target = target }

    public func readyTarget(within timeout: Duration) async throws -> PodTarget { target }
}
