import Foundation
import Synchronization

/// Collects a pod's container statuses and publishes the pod's status, computed as kubelet computes it,
/// whenever it changes; one lock keeps the publications in order.
final class PodStatusBoard: Sendable {
    /// Where a container's status goes.
    enum Slot: Sendable {
        case initContainer(Int)
        case container(Int)
    }

    private let restartPolicy: String
    private let startTime: Date
    private let publish: @Sendable (RuntimePodStatus) -> Void
    private let state: Mutex<State>

    private struct State {
        var containers: [RuntimeContainerStatus?]
        var initContainers: [RuntimeContainerStatus?]
        var published: RuntimePodStatus?
        var closed = false
    }

    init(
        containers: Int, initContainers: Int = 0, restartPolicy: String, startTime: Date,
        publish: @escaping @Sendable (RuntimePodStatus) -> Void
    ) {
        self.restartPolicy = restartPolicy
        self.startTime = startTime
        self.publish = publish
        self.state = Mutex(
            State(
                containers: Array(repeating: nil, count: containers),
                initContainers: Array(repeating: nil, count: initContainers)))
    }

    func post(_ status: RuntimeContainerStatus, at slot: Slot) {
        state.withLock { state in
            switch slot {
            case .initContainer(let index): state.initContainers[index] = status
            case .container(let index): state.containers[index] = status
            }
            guard !state.closed else { return }
            let containers = state.containers.compactMap { $0 }
            let initContainers = state.initContainers.compactMap { $0 }
            guard containers.count == state.containers.count, initContainers.count == state.initContainers.count
            else { return }
            let phase = podPhase(containers, initContainers: initContainers, restartPolicy: restartPolicy)
            let pod = RuntimePodStatus(
                phase: phase, ready: phase == "Running" && containers.allSatisfy(\.ready), startTime: startTime,
                containers: containers, initContainers: initContainers)
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

/// While init containers run the pod is Pending; one that failed for good (restartPolicy Never)
/// fails the pod.
func podPhase(
    _ containers: [RuntimeContainerStatus], initContainers: [RuntimeContainerStatus], restartPolicy: String
) -> String {
    for initContainer in initContainers {
        guard case .terminated(let exitCode, _, _, _, _) = initContainer.state else { return "Pending" }
        if exitCode != 0 { return restartPolicy == "Never" ? "Failed" : "Pending" }
    }
    return podPhase(containers, restartPolicy: restartPolicy)
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
