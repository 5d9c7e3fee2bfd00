import DequeModule
import Synchronization

/// A queue from one producer to one consumer that holds about `high` units (bytes, lines) at most:
/// past the high watermark the producer is held back until the consumer has drained it to the low
/// watermark, so a reader that stops reading stops the stream behind it instead of growing memory.
///
/// Two kinds of producer: a task, whose `send` suspends while the queue is full, and a thread that can
/// pause its source (libcurl), whose `offer` refuses while full and is told by `onResume` when to go on.
final class BoundedBuffer<Element: Sendable>: Sendable {
    private struct State {
        var items = Deque<Element>()
        var size = 0
        var ended = false
        var failure: (any Error)?
        /// The consumer went away (cancelled, or its stream dropped): producers stop.
        var abandoned = false
        var consumer: CheckedContinuation<Element?, any Error>?
        var producer: CheckedContinuation<Void, any Error>?
        var offerRefused = false
        var onResume: (@Sendable () -> Void)?
        var onAbandon: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())
    private let high: Int
    private let low: Int
    private let cost: @Sendable (Element) -> Int

    init(high: Int, low: Int, cost: @escaping @Sendable (Element) -> Int) {
        precondition(low <= high && high > 0)
        self.high = high
        self.low = low
        self.cost = cost
    }

    /// Called (once per refused offer) when the queue has drained to the low watermark.
    func onResume(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.onResume = handler }
    }

    /// Called once when the consumer goes away (also after the end: then it stops a producer that
    /// ended the stream early but runs on).
    func onAbandon(_ handler: @escaping @Sendable () -> Void) {
        let now = state.withLock { state in
            state.onAbandon = handler
            return state.abandoned
        }
        if now { handler() }
    }

    var isAbandoned: Bool { state.withLock { $0.abandoned } }

    /// The cost of what waits for the consumer.
    var queuedSize: Int { state.withLock { $0.size } }

    /// Queues `element` unless the queue is at its high watermark (then false: the producer pauses
    /// until `onResume`). Never blocks. After the consumer went away, accepts and drops everything.
    func offer(_ element: Element) -> Bool {
        let consumer: CheckedContinuation<Element?, any Error>?
        let result: Bool
        (consumer, result) = state.withLock { state in
            if state.abandoned || state.ended { return (nil, true) }
            if let waiting = state.consumer {
                state.consumer = nil
                return (waiting, true)
            }
            guard state.size < high else {
                state.offerRefused = true
                return (nil, false)
            }
            state.items.append(element)
            state.size += cost(element)
            return (nil, true)
        }
        consumer?.resume(returning: element)
        return result
    }

    /// Queues `element`, then waits while the queue is above its high watermark. Throws
    /// `CancellationError` when the consumer went away or the producing task is cancelled.
    func send(_ element: Element) async throws {
        let full: Bool = try state.withLock { state in
            if state.abandoned { throw CancellationError() }
            if state.ended { return false }
            if let waiting = state.consumer {
                state.consumer = nil
                waiting.resume(returning: element)
                return false
            }
            state.items.append(element)
            state.size += cost(element)
            return state.size > high
        }
        guard full else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (producer: CheckedContinuation<Void, any Error>) in
                let resumeNow: Result<Void, any Error>? = state.withLock { state in
                    if state.abandoned || Task.isCancelled { return .failure(CancellationError()) }
                    if state.size <= low || state.ended { return .success(()) }
                    state.producer = producer
                    return nil
                }
                if let resumeNow { producer.resume(with: resumeNow) }
            }
        } onCancel: {
            let producer = state.withLock { state in
                defer { state.producer = nil }
                return state.producer
            }
            producer?.resume(throwing: CancellationError())
        }
    }

    /// No more elements: the consumer gets what is queued, then the end (or `error`).
    func finish(throwing error: (any Error)? = nil) {
        let consumer = state.withLock { state -> CheckedContinuation<Element?, any Error>? in
            guard !state.ended else { return nil }
            state.ended = true
            state.failure = error
            defer { state.consumer = nil }
            return state.consumer
        }
        if let error { consumer?.resume(throwing: error) } else { consumer?.resume(returning: nil) }
    }

    /// The consumer is gone: queued elements are dropped and the producer is told to stop.
    func abandon() {
        let (producer, handler) = state.withLock { state in
            guard !state.abandoned else {
                return (CheckedContinuation<Void, any Error>?.none, (@Sendable () -> Void)?.none)
            }
            state.abandoned = true
            state.items.removeAll()
            state.size = 0
            // The handlers hold the producer (a transfer holding this buffer): let the cycle go.
            defer {
                state.producer = nil
                state.onResume = nil
                state.onAbandon = nil
            }
            // Also after the end: a producer that finished the stream early (with an error) may run on.
            return (state.producer, state.onAbandon)
        }
        producer?.resume(throwing: CancellationError())
        handler?()
    }

    /// The next element, waiting for one; nil at the end. Cancelling the waiting task abandons the queue.
    func next() async throws -> Element? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (consumer: CheckedContinuation<Element?, any Error>) in
                let (ready, producer, resume) = take(orWait: consumer)
                producer?.resume()
                resume?()
                if let ready { consumer.resume(with: ready) }
            }
        } onCancel: {
            let consumer = state.withLock { state in
                defer { state.consumer = nil }
                return state.consumer
            }
            consumer?.resume(returning: nil)
            abandon()
        }
    }

    private func take(orWait consumer: CheckedContinuation<Element?, any Error>) -> (
        Result<Element?, any Error>?, CheckedContinuation<Void, any Error>?, (@Sendable () -> Void)?
    ) {
        state.withLock { state in
            if state.abandoned || Task.isCancelled { return (.success(nil), nil, nil) }
            guard let element = state.items.popFirst() else {
                if state.ended { return (state.failure.map { .failure($0) } ?? .success(nil), nil, nil) }
                state.consumer = consumer
                // An empty queue after a refusal: the producer may go on (a low watermark of 0 included).
                return (nil, nil, releaseProducers(&state))
            }
            state.size -= cost(element)
            var producer: CheckedContinuation<Void, any Error>?
            if state.size <= low {
                producer = state.producer
                state.producer = nil
            }
            return (.success(element), producer, state.size <= low ? releaseProducers(&state) : nil)
        }
    }

    private func releaseProducers(_ state: inout State) -> (@Sendable () -> Void)? {
        guard state.offerRefused else { return nil }
        state.offerRefused = false
        return state.onResume
    }

    /// The queue as an `AsyncThrowingStream` for the consumer. Dropping that stream (or cancelling
    /// its reader) abandons the queue.
    func stream() -> AsyncThrowingStream<Element, any Error> {
        let owner = Owner(self)
        return AsyncThrowingStream { try await owner.buffer.next() }
    }

    /// Runs `produce` in a task that feeds a new bounded stream: the stream ends when `produce` returns
    /// (or with its error), and the task is cancelled when the stream's consumer goes away.
    static func stream(
        high: Int, low: Int, cost: @escaping @Sendable (Element) -> Int = { _ in 1 },
        produce: @escaping @Sendable (BoundedBuffer<Element>) async throws -> Void
    ) -> AsyncThrowingStream<Element, any Error> {
        let buffer = BoundedBuffer(high: high, low: low, cost: cost)
        let task = Task {
            do {
                try await produce(buffer)
                buffer.finish()
            } catch {
                buffer.finish(throwing: error is CancellationError ? nil : error)
            }
        }
        buffer.onAbandon { task.cancel() }
        return buffer.stream()
    }

    /// Held by the stream's closure only: when the stream goes, so does the consumer.
    private final class Owner: Sendable {
        let buffer: BoundedBuffer<Element>
        init(_ buffer: BoundedBuffer<Element>) { self.buffer = buffer }
        deinit { buffer.abandon() }
    }
}
