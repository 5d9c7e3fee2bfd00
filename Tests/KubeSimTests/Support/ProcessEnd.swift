import Foundation
import Synchronization

/// A value that arrives once (a process's exit status, the end of its output), awaited without a
/// thread blocked and without polling; every wait has a deadline.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [Int: CheckedContinuation<Value?, Never>] = [:]
        var next = 0
    }
    private let state = Mutex(State())

    var value: Value? { state.withLock { $0.value } }

    func complete(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value?, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// The value, or nil when it has not come within `timeout`.
    func wait(timeout: Duration) async -> Value? {
        await withCheckedContinuation { waiter in
            let key = state.withLock { state -> Int? in
                if let value = state.value {
                    waiter.resume(returning: value)
                    return nil
                }
                state.next += 1
                state.waiters[state.next] = waiter
                return state.next
            }
            guard let key else { return }
            Task {
                try? await Task.sleep(for: timeout)
                self.state.withLock { $0.waiters.removeValue(forKey: key) }?.resume(returning: nil)
            }
        }
    }
}

extension Process {
    /// The exit status (128 + signal for a signalled process), delivered by the termination handler:
    /// call before `run()`.
    func exitStatus() -> OneShot<Int32> {
        let status = OneShot<Int32>()
        terminationHandler = { process in
            let code = process.terminationStatus
            status.complete(process.terminationReason == .uncaughtSignal ? 128 + code : code)
        }
        return status
    }
}
