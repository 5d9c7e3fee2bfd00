import Foundation

/// Bytes from the pod waiting for the local client, bounded: the WebSocket's I/O thread pushes (never
/// blocking, so it can keep writing the other direction) and stops reading while `hasRoom` is false;
/// a writer thread pops and blocks on the local socket instead.
final class InboundQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks = ByteDeque()
    private var ended = false
    private var abandoned = false
    private var lastPush: ContinuousClock.Instant?
    private let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    var hasRoom: Bool {
        condition.lock()
        defer { condition.unlock() }
        return chunks.count < limit
    }

    func push(_ chunk: Data) {
        condition.lock()
        chunks.append(chunk)
        lastPush = .now
        condition.broadcast()
        condition.unlock()
    }

    /// No more data will come; `pop` returns nil once the queue is empty.
    func finish() {
        condition.lock()
        ended = true
        condition.broadcast()
        condition.unlock()
    }

    /// The local client can no longer be written to: nobody waits for the rest.
    func abandon() {
        condition.lock()
        abandoned = true
        condition.broadcast()
        condition.unlock()
    }

    /// Whether anything arrived after `instant`.
    func pushed(after instant: ContinuousClock.Instant) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return lastPush.map { $0 > instant } ?? false
    }

    /// Waits until the stream ends, the client is gone, or nothing arrived for `idle`.
    func waitForEnd(idle: Duration) {
        condition.lock()
        defer { condition.unlock() }
        let start = ContinuousClock.now
        while !ended && !abandoned {
            let quietFor = ContinuousClock.now - max(lastPush ?? start, start)
            if quietFor >= idle { return }
            let left = idle - quietFor
            _ = condition.wait(until: Date().addingTimeInterval(Double(left.components.seconds) + 0.05))
        }
    }

    /// The next chunk, waiting for one; nil at the end. `madeRoom` runs (unlocked) when this pop
    /// turned `hasRoom` true again, so the paused producer can be woken instead of polling.
    func pop(madeRoom: () -> Void = {}) -> Data? {
        condition.lock()
        while chunks.isEmpty && !ended { condition.wait() }
        let wasFull = chunks.count >= limit
        let chunk = chunks.popFirst()
        let roomNow = wasFull && chunks.count < limit
        condition.unlock()
        if roomNow { madeRoom() }
        return chunk
    }
}
