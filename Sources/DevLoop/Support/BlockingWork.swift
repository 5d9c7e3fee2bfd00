import Foundation
import Synchronization

/// Runs blocking work (file I/O, directory walks, hashing, waits on a thread) on a thread of its
/// own, outside Swift's cooperative pool: with 2 cores that pool has 2 threads, and one 100 MB sync
/// holding them would stall every forward and log stream of the session. A plain thread, not a
/// Dispatch queue: on Linux Dispatch's global queues may share their width with that pool. Callers
/// hand over whole batches, walks or hash lists, so a thread per call costs little.
enum BlockingWork {
    private static func spawn(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = "devloop-blocking"
        thread.start()
    }

    /// Runs `body` off the cooperative threads and resumes with its result. Cancelling the calling
    /// task raises `flag`, which `body` checks between steps (`try flag.check()`) to stop early.
    static func run<T: Sendable>(_ body: @escaping @Sendable (CancellationFlag) throws -> T) async throws -> T {
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                spawn { continuation.resume(with: Result { try body(flag) }) }
            }
        } onCancel: {
            flag.raise()
        }
    }

    /// The same for work that cannot fail and need not stop early.
    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            spawn { continuation.resume(returning: body()) }
        }
    }
}

/// Raised when the task waiting for blocking work is cancelled.
final class CancellationFlag: Sendable {
    private let raised = Atomic(false)

    var isRaised: Bool { raised.load(ordering: .acquiring) }

    func raise() { raised.store(true, ordering: .releasing) }

    func check() throws {
        if isRaised { throw CancellationError() }
    }
}
