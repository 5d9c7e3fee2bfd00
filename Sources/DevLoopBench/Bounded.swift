import Foundation

/// Awaits `body` for at most `timeout`, then throws: the engine's waits (a settle, a batch) cannot be
/// cancelled, so a hung one is left behind and the bench fails instead of hanging with it.
func bounded<T: Sendable>(
    _ what: String, timeout: Duration = .seconds(300), _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let once = ResumeOnce(continuation)
        let task = Task {
            do { once.resume(with: .success(try await body())) } catch { once.resume(with: .failure(error)) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(milliseconds(timeout)))) {
            task.cancel()
            once.resume(with: .failure(BenchError("\(what) did not end within \(timeout)")))
        }
    }
}

/// A continuation that the first of several racing ends resumes.
private final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Error>?

    init(_ continuation: CheckedContinuation<T, Error>) { self.continuation = continuation }

    func resume(with result: Result<T, Error>) {
        let taken = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        taken?.resume(with: result)
    }
}
