import Foundation

/// One restart of the dev container by the kubelet after its process ended, as the pod watch shows it.
public struct ContainerCrash: Sendable, Equatable {
    public var pod: String
    public var container: String
    /// The ended instance's exit code and reason (`Error`, `OOMKilled`), when the pod says.
    public var exitCode: Int?
    public var reason: String?
    /// The container's restart count after this crash.
    public var restartCount: Int
    /// Crashes of this streak (since the container last served), this one included.
    public var streak: Int
    /// From the streak's first crash to this one.
    public var streakSpan: Duration
    /// Whether the kubelet now holds the next start back (`CrashLoopBackOff`).
    public var backingOff: Bool
}

/// Turns pod updates into crashes and recoveries: a crash is a rise of the dev container's restart
/// count; a streak of them ends when the pod serves again. Counts already there when a pod is first
/// seen are history, not news.
struct CrashHistory {
    private var restartCounts: [String: Int] = [:]
    private var streak: [ContinuousClock.Instant] = []

    /// The crash this update shows, if any.
    mutating func observe(_ pod: Pod, container: String?, at now: ContinuousClock.Instant) -> ContainerCrash? {
        guard let status = pod.status(of: container) else { return nil }
        let previous = restartCounts[pod.uid]
        restartCounts[pod.uid] = status.restartCount
        guard let previous, status.restartCount > previous else { return nil }
        streak.append(now)
        var exitCode: Int?
        var reason: String?
        if case .terminated(let code, let why) = status.lastState ?? status.state {
            exitCode = code
            reason = why
        }
        var backingOff = false
        if case .waiting(let waiting) = status.state { backingOff = waiting == "CrashLoopBackOff" }
        return ContainerCrash(
            pod: pod.name, container: status.name, exitCode: exitCode, reason: reason,
            restartCount: status.restartCount, streak: streak.count, streakSpan: now - streak[0],
            backingOff: backingOff)
    }

    /// The pod serves again: how many crashes the streak had and how long since its first, or nil
    /// when there was none.
    mutating func recovered(at now: ContinuousClock.Instant) -> (crashes: Int, since: Duration)? {
        guard let first = streak.first else { return nil }
        defer { streak = [] }
        return (streak.count, now - first)
    }

    /// A pod that is gone: its count goes too (a replacement starts from its own).
    mutating func forget(_ pod: Pod) { restartCounts[pod.uid] = nil }
}
