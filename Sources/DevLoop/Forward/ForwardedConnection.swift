import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One accepted local TCP connection and the pod-side stream behind it. Two threads pump it, one per
/// direction (as kubectl's copy goroutines): `upload` reads the client, `download` writes what the pod
/// sent. Until the first reply byte arrives, everything the client sent is kept (up to `replayLimit`),
/// so that a dial the pod refused can be retried on a new stream with nothing lost: nothing of it can
/// have reached a server.
final class ForwardedConnection: @unchecked Sendable {
    enum Outcome: Sendable {
        /// The pod answered: the connection is forwarding.
        case confirmed
        /// The dial failed before any reply (the reason); retrying is safe.
        case refused(String)
        /// The pod side ended cleanly before replying, or the client left: nothing more to do.
        case ended
    }

    let local: Int32
    static let replayLimit = 1 << 20
    static let inboundLimit = 4 << 20

    private let condition = NSCondition()
    /// Serialises writes to the stream, so that a replay and new client bytes keep their order.
    private let sendLock = NSLock()
    // Guarded by `condition`.
    private var attempt = 0
    private var stream: ForwardStream?
    private var replay: Data? = Data()
    private var confirmed = false
    private var localEnded = false
    private var remoteEnded = false
    private var abandoned = false
    private var errorMessage: String?
    private var inbound = ByteDeque()
    private var waiter: CheckedContinuation<Outcome, Never>?
    private var pendingOutcome: Outcome?
    private var pumpsLeft = 2
    private let onRemoteError: @Sendable (String) -> Void

    init(local: Int32, onRemoteError: @escaping @Sendable (String) -> Void) {
        self.local = local
        self.onRemoteError = onRemoteError
    }

    /// Starts both pumps; the client's first bytes wait in the replay buffer until a stream is attached.
    func start() {
        let up = Thread { [self] in
            upload()
            pumpFinished()
        }
        let down = Thread { [self] in
            download()
            pumpFinished()
        }
        up.name = "devloop-forward-up"
        down.name = "devloop-forward-down"
        up.start()
        down.start()
    }

    /// A delegate for the next attempt; events of earlier attempts are ignored from now on.
    func nextAttempt() -> any SPDYStreamPairDelegate {
        condition.lock()
        defer { condition.unlock() }
        attempt += 1
        errorMessage = nil
        pendingOutcome = nil
        return AttemptEvents(owner: self, attempt: attempt)
    }

    /// Attaches the attempt's stream: replays what the client sent so far, then lets `upload` go on.
    /// False when the client's bytes no longer fit the replay buffer (a retry would lose some).
    func attach(_ newStream: ForwardStream) -> Bool {
        sendLock.lock()
        defer { sendLock.unlock() }
        condition.lock()
        guard let bytes = replay, !abandoned else {
            condition.unlock()
            return false
        }
        stream = newStream
        let ended = localEnded
        condition.broadcast()
        condition.unlock()
        // The download may have made room before the stream was known to it: the carrier looks again.
        newStream.wake()
        do {
            if !bytes.isEmpty { try newStream.send(bytes) }
            if ended { newStream.finish() }
        } catch {
            // The stream broke at once: its delegate reports the loss, and the caller retries.
        }
        return true
    }

    /// Waits for what the current attempt came to.
    func outcome() async -> Outcome {
        await withCheckedContinuation { continuation in
            condition.lock()
            if let pending = pendingOutcome {
                pendingOutcome = nil
                condition.unlock()
                continuation.resume(returning: pending)
                return
            }
            waiter = continuation
            condition.unlock()
        }
    }

    /// Gives up: the client's connection closes (after what the pod sent was written).
    func abandon() {
        condition.lock()
        abandoned = true
        remoteEnded = true
        let current = stream
        stream = nil
        condition.broadcast()
        condition.unlock()
        current?.reset()
        shutdown(local, Int32(SHUT_RDWR))
    }

    /// Like `abandon`, and what is queued for the client is dropped: the session stops.
    func cancel() {
        condition.lock()
        inbound = ByteDeque()
        condition.unlock()
        abandon()
    }

    var lastError: String? {
        condition.lock()
        defer { condition.unlock() }
        return errorMessage
    }

    // MARK: - Events from the pod side (the carrier's I/O thread: never block)

    fileprivate func received(_ data: Data, attempt: Int) {
        condition.lock()
        guard attempt == self.attempt, !abandoned else {
            condition.unlock()
            return
        }
        var decided: Outcome?
        if !confirmed {
            confirmed = true
            replay = nil
            decided = .confirmed
        }
        inbound.append(data)
        condition.broadcast()
        let resume = take(decided)
        condition.unlock()
        resume?()
    }

    fileprivate func receivedError(_ message: String, attempt: Int) {
        condition.lock()
        guard attempt == self.attempt else {
            condition.unlock()
            return
        }
        errorMessage = message
        let wasConfirmed = confirmed
        condition.unlock()
        if wasConfirmed { onRemoteError(message) }
    }

    fileprivate func ended(lost: Bool, attempt: Int) {
        condition.lock()
        guard attempt == self.attempt else {
            condition.unlock()
            return
        }
        var decided: Outcome?
        if !confirmed {
            // Ended before the first reply byte: refused, lost, or accepted by a server that was
            // going away (killed, or its pod deleted) and closed without answering. Nothing came
            // back, so a retry on the next ready server is what the client would want.
            if replay != nil && !abandoned {
                decided = .refused(
                    errorMessage ?? (lost ? "the connection to the pod was lost" : "closed before any reply"))
                stream = nil
            } else {
                decided = .ended
                remoteEnded = true
            }
        } else {
            remoteEnded = true
        }
        condition.broadcast()
        let resume = take(decided)
        condition.unlock()
        resume?()
    }

    fileprivate var hasRoom: Bool {
        condition.lock()
        defer { condition.unlock() }
        return inbound.count < Self.inboundLimit
    }

    /// Hands `outcome` to the waiting task, or keeps it for `outcome()` (called with the lock held).
    private func take(_ outcome: Outcome?) -> (() -> Void)? {
        guard let outcome else { return nil }
        if let waiter {
            self.waiter = nil
            return { waiter.resume(returning: outcome) }
        }
        pendingOutcome = outcome
        return nil
    }

    // MARK: - The pumps

    private func upload() {
        let size = 256 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let count = read(local, buffer, size)
            guard count > 0 else { break }
            let bytes = Data(bytes: buffer, count: count)
            // Before the first reply the bytes are kept for a replay; when they no longer fit, wait
            // for a stream and give up the chance to retry.
            condition.lock()
            while !confirmed, stream == nil, !abandoned, (replay?.count ?? 0) + count > Self.replayLimit {
                condition.wait()
            }
            let gaveUp = abandoned
            condition.unlock()
            if gaveUp { break }
            // The replay and the stream are read together under `sendLock`, as `attach` reads them: the
            // bytes either join the replay before a stream is attached (and `attach` sends them) or go
            // out on the attached stream (and are kept for a retry), never both.
            sendLock.lock()
            condition.lock()
            if !confirmed, let kept = replay {
                replay = kept.count + count <= Self.replayLimit ? kept + bytes : nil
            }
            let current = stream
            condition.unlock()
            try? current?.send(bytes)
            sendLock.unlock()
        }
        sendLock.lock()
        condition.lock()
        localEnded = true
        let current = stream
        condition.unlock()
        current?.finish()
        sendLock.unlock()
    }

    private func download() {
        while true {
            condition.lock()
            while inbound.isEmpty && !remoteEnded { condition.wait() }
            guard let chunk = inbound.popFirst() else {
                condition.unlock()
                break
            }
            let wasFull = inbound.count + chunk.count >= Self.inboundLimit
            let current = stream
            condition.unlock()
            if wasFull { current?.wake() }
            guard writeAll(chunk) else {
                abandon()
                break
            }
        }
        // The pod's side ended: as kubectl, close the client's connection (this also ends `upload`).
        shutdown(local, Int32(SHUT_RDWR))
    }

    private func writeAll(_ data: Data) -> Bool {
        PortForwardChannels.writeAll(data, to: local)
    }

    private func pumpFinished() {
        condition.lock()
        pumpsLeft -= 1
        let last = pumpsLeft == 0
        let unfinished = remoteEnded ? nil : stream
        condition.unlock()
        guard last else { return }
        Glibc.close(local)
        // Both directions are done; a stream the pod has not finished is abandoned.
        unfinished?.reset()
    }
}

/// The delegate of one attempt: tags each event with the attempt, so a superseded stream is ignored.
private final class AttemptEvents: SPDYStreamPairDelegate, @unchecked Sendable {
    let owner: ForwardedConnection
    let attempt: Int

    init(owner: ForwardedConnection, attempt: Int) {
        self.owner = owner
        self.attempt = attempt
    }

    func received(_ data: Data) { owner.received(data, attempt: attempt) }
    func receivedError(_ message: String) { owner.receivedError(message, attempt: attempt) }
    func ended(lost: Bool) { owner.ended(lost: lost, attempt: attempt) }
    var hasRoom: Bool { owner.hasRoom }
}
