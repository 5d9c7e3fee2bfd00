import Foundation

/// What a 400 from the log endpoint means. The kubelet answers 400 while the container "is waiting to
/// start" (ContainerCreating, PodInitializing, an image being pulled): worth retrying. The API server also
/// answers 400 when the container name is missing or wrong: retrying that would wait for ever.
struct ContainerWait: Sendable {
    /// Retries before the waiting reason is shown (at the default 300 ms, about two seconds).
    static let quietRetries = 6
    var report: (@Sendable (String) -> Void)?
    private var retries = 0
    private var reported: String?

    init(report: (@Sendable (String) -> Void)?) {
        self.report = report
    }

    static func isWaiting(_ error: KubeClientError) -> Bool {
        guard case .api(let status) = error, status.code == 400 else { return false }
        return status.message.contains("is waiting to start") || status.message.contains("ContainerCreating")
            || status.message.contains("PodInitializing")
    }

    /// Rethrows `error` unless it means "not started yet"; tells the consumer why after a few retries,
    /// once per distinct reason.
    mutating func retry(after error: KubeClientError) throws {
        guard Self.isWaiting(error), case .api(let status) = error else { throw error }
        retries += 1
        if retries > Self.quietRetries, reported != status.message {
            reported = status.message
            report?(status.message)
        }
    }
}

extension LogFollower {
    /// This follower with `container` set as kubectl picks it when none is given: the container named by
    /// the `kubectl.kubernetes.io/default-container` annotation, else the first in the spec. Without a
    /// name, a pod with sidecars (Istio, Linkerd) answers every log request with 400.
    func withDefaultContainer() async throws -> LogFollower {
        guard container == nil else { return self }
        let pod = try await client.get("/api/v1/namespaces/\(namespace)/pods/\(pod)")
        var resolved = self
        resolved.container = Self.defaultContainer(of: pod)
        return resolved
    }

    /// Whether the pod has finished for good (Succeeded or Failed): its log will not grow any more, so
    /// following ends instead of asking again every retryDelay.
    func podCompleted() async -> Bool {
        guard let pod = try? await client.get("/api/v1/namespaces/\(namespace)/pods/\(pod)") else { return false }
        return ["Succeeded", "Failed"].contains(pod[path: "status", "phase"]?.string ?? "")
    }

    static func defaultContainer(of pod: JSONValue) -> String? {
        let names = (pod[path: "spec", "containers"]?.array ?? []).compactMap { $0["name"]?.string }
        if let annotated = pod[path: "metadata", "annotations", "kubectl.kubernetes.io/default-container"]?.string,
            names.contains(annotated)
        {
            return annotated
        }
        return names.first
    }
}
