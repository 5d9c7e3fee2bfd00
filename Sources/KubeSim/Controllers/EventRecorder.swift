import Foundation

/// Writes core/v1 Events about pods, as a kubelet does, so `kubectl describe` and clients watching
/// events see what happened (scheduled, started, back-off, killing).
struct EventRecorder {
    let api: APIService

    /// Names sort by time, as kube-apiserver's event names do.
    func record(
        _ pod: JSON, kind: String = "Pod", apiVersion: String = "v1", reason: String, message: String,
        warning: Bool = false, field: String? = nil, component: String = "kubelet"
    ) async {
        let now = JSON.string(Timestamps.format(Date()))
        var involved: JSON = [
            "kind": .string(kind), "apiVersion": .string(apiVersion), "namespace": .string(pod.namespace),
            "name": .string(pod.name),
            "uid": .string(pod.uid),
        ]
        if let field { involved["fieldPath"] = .string(field) }
        let event: JSON = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": [
                "name": .string("\(pod.name).\(String(UInt64(Date().timeIntervalSince1970 * 1e9), radix: 16))"),
                "namespace": .string(pod.namespace),
            ],
            "involvedObject": involved, "reason": .string(reason), "message": .string(message),
            "type": warning ? "Warning" : "Normal",
            "source": ["component": .string(component), "host": .string(Kubelet.nodeName)],
            "firstTimestamp": now, "lastTimestamp": now, "count": 1, "reportingComponent": .string(component),
            "reportingInstance": .string(Kubelet.nodeName),
        ]
        _ = try? await api.create(.events, namespace: pod.namespace, body: event)
    }

    /// Events for what changed between two statuses of a pod's containers.
    func recordChanges(_ pod: JSON, from old: RuntimePodStatus?, to new: RuntimePodStatus) async {
        for container in new.containers {
            let before = old?.containers.first { $0.name == container.name }
            let field = "spec.containers{\(container.name)}"
            switch container.state {
            case .running:
                let wasRunning: Bool
                if case .running = before?.state {
                    wasRunning = before?.restartCount == container.restartCount
                } else {
                    wasRunning = false
                }
                if !wasRunning {
                    await record(pod, reason: "Started", message: "Started container \(container.name)", field: field)
                }
            case .waiting(let reason, _) where reason == "CrashLoopBackOff":
                if case .waiting(let previous, _) = before?.state, previous == reason { continue }
                await record(
                    pod, reason: "BackOff", message: "Back-off restarting failed container \(container.name)",
                    warning: true, field: field)
            case .waiting(let reason, let message) where reason.hasSuffix("Error"):
                // CreateContainerError, CreateContainerConfigError, RunContainerError: kubelet's "Failed".
                if case .waiting(let previous, let said) = before?.state, previous == reason, said == message {
                    continue
                }
                await record(pod, reason: "Failed", message: "Error: \(message ?? reason)", warning: true, field: field)
            default:
                continue
            }
        }
    }
}
