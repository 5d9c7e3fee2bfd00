import Foundation
import Synchronization

/// The time the CronJob controller schedules by: the system's, or one a test moves by hand.
public protocol ControllerClock: Sendable {
    func now() -> Date
    /// Returns once `deadline` has come, or at once when the task is cancelled.
    func sleep(until deadline: Date) async
}

public struct SystemClock: ControllerClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(until deadline: Date) async {
        try? await Task.sleep(for: .seconds(max(0, deadline.timeIntervalSinceNow)))
    }
}

/// A clock that stands still until `advance(to:)`, which wakes every sleeper whose deadline has come.
public final class ManualClock: ControllerClock {
    private struct State {
        var now: Date
        var sleepers: [Int: (Date, CheckedContinuation<Void, Never>)] = [:]
        var nextID = 0
    }

    private let state: Mutex<State>

    public init(now: Date) { state = Mutex(State(now: now)) }

    public func now() -> Date { state.withLock { $0.now } }

    public func advance(to date: Date) {
        let due = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.now = max(state.now, date)
            let ready = state.sleepers.filter { $0.value.0 <= state.now }
            for id in ready.keys { state.sleepers[id] = nil }
            return ready.map { $0.value.1 }
        }
        for continuation in due { continuation.resume() }
    }

    public func sleep(until deadline: Date) async {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if deadline <= state.now || Task.isCancelled { return true }
                    state.sleepers[id] = (deadline, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { $0.sleepers.removeValue(forKey: id)?.1 }
            continuation?.resume()
        }
    }
}
