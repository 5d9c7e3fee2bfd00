import Foundation
import Synchronization

/// Collects a pod's container statuses and publishes the pod's status, computed as kubelet computes it,
/// whenever it changes; one lock keeps the publications in order.
final class PodStatusBoard: Sendable {
    private let restartPolicy: String
    private let startTime: Date
    private let publish: @Sendable (RuntimePodStatus) -> Void
    private let state: Mutex<State>

    private struct State {
        var containers: [RuntimeContainerStatus?]
        var published: RuntimePodStatus?
        var closed = false
    }

    init(
        containers: Int, restartPolicy: String, startTime: Date, publish: @escaping @Sendable (RuntimePodStatus) -> Void
    ) {
        self.restartPolicy = restartPolicy
        self.startTime = startTime
        self.publish = publish
        self.state = Mutex(State(containers: Array(repeating: nil, count: containers)))
    }

    func post(_ status: RuntimeContainerStatus, at index: Int) {
        state.withLock { state in
            state.containers[index] = status
            guard !state.closed else { return }
            let containers = state.containers.compactMap { $0 }
            guard containers.count == state.containers.count else { return }
            let phase = podPhase(containers, restartPolicy: restartPolicy)
            let pod = RuntimePodStatus(
                phase: phase, ready: phase == "Running" && containers.allSatisfy(\.ready), startTime: startTime,
                containers: containers)
            if pod != state.published {
                state.published = pod
                publish(pod)
            }
        }
    }

    var current: RuntimePodStatus? { state.withLock { $0.published } }

    /// No more publications (the pod is being deleted).
    func close() {
        state.withLock { $0.closed = true }
    }
}

/// kubelet's getPhase: a container waiting for its first start keeps the pod Pending; one that waits
/// to restart counts as stopped.
func podPhase(_ containers: [RuntimeContainerStatus], restartPolicy: String) -> String {
    var running = 0
    var waiting = 0
    var stopped = 0
    var succeeded = 0
    for container in containers {
        switch container.state {
        case .running:
            running += 1
        case .terminated(let exitCode, _, _, _, _):
            stopped += 1
            if exitCode == 0 { succeeded += 1 }
        case .waiting:
            if case .terminated = container.lastState { stopped += 1 } else { waiting += 1 }
        }
    }
    if waiting > 0 { return "Pending" }
    if running > 0 { return "Running" }
    guard stopped > 0 else { return "Pending" }
    if restartPolicy == "Always" { return "Running" }
    if stopped == succeeded { return "Succeeded" }
    return restartPolicy == "Never" ? "Failed" : "Running"
}
