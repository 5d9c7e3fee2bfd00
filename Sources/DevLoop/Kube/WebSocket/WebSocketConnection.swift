import Foundation
import LockedValue
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A client WebSocket over a libcurl CONNECT_ONLY connection. One thread owns the connection (libcurl
/// and OpenSSL are not safe for concurrent send/recv): it reads frames, answers pings, and writes queued
/// frames, sleeping in poll() on the socket and a wake-up pipe with no timeout: an idle or paused
/// connection costs no wake-ups.
public final class WebSocketConnection: @unchecked Sendable {
    public let subprotocol: String
    /// Data messages (binary or text payloads) as they arrive; ends when the server closes. Bounded:
    /// while `inboundHigh` bytes wait for a reader the connection stops reading its socket (TCP then
    /// holds the peer back), and reads again once the reader has drained them to `inboundLow`.
    public let messages: AsyncThrowingStream<Data, Error>

    static let inboundHigh = 1 << 20
    static let inboundLow = 256 << 10

    private let socket: CurlSocket
    private let inbound: BoundedBuffer<Data>
    /// A message the full `inbound` refused, offered again once the reader makes room (I/O thread only).
    private var held: Data?
    private let state = Mutex(OutboundState())
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// Receives messages on the I/O thread instead of `messages`: a blocking sink (a local socket)
    /// then slows the connection down, which is the backpressure a port-forward needs. An empty
    /// message (never a real one: those carry a channel byte) marks the end of the stream.
    private let handler: (@Sendable (Data) -> Void)?
    /// Asked before each read: false pauses reading (the consumer's buffer is full) while writes go on.
    /// The consumer calls `resumeReading()` once it has room again.
    private let readGate: (@Sendable () -> Bool)?
    private let done = DispatchSemaphore(value: 0)
    /// How many times the I/O thread has gone to sleep in poll(): tests count the wake-ups of an
    /// idle or paused connection.
    let polls = Atomic<Int>(0)
    /// The frame being written, taken off the queue (touched by the I/O thread only).
    private var writing: (PinnedBytes, (@Sendable (Error?) -> Void)?)?

    private struct Pending {
        var bytes: Data
        var done: (@Sendable (Error?) -> Void)?
    }

    private struct OutboundState {
        var queue: [Pending] = []
        var closeSent = false
        var cancelled = false
        var finished: Error?
        var isFinished = false
        /// Writing failed; reading goes on until the peer closes.
        var writeFailure: Error?
    }

    /// Opens the connection and performs the upgrade. `headers` carry authentication.
    static func connect(
        url: URL, tls: TLSSettings, headers: [String: String], protocols: [String], timeout: TimeInterval = 30,
        handler: (@Sendable (Data) -> Void)? = nil, readGate: (@Sendable () -> Bool)? = nil
    ) async throws -> Result<WebSocketConnection, UpgradeRefusal> {
        // Cancelling the caller aborts the connect and the handshake within a poll slice.
        let cancelled = CancellationFlag()
        let outcome = try await withTaskCancellationHandler {
            try await open(
                url: url, tls: tls, headers: headers, protocols: protocols, timeout: timeout, handler: handler,
                readGate: readGate, cancelled: cancelled)
        } onCancel: {
            cancelled.raise()
        }
        if case .success(let connection) = outcome, cancelled.isRaised {
            connection.cancel()
            throw CancellationError()
        }
        return outcome
    }

    private static func open(
        url: URL, tls: TLSSettings, headers: [String: String], protocols: [String], timeout: TimeInterval,
        handler: (@Sendable (Data) -> Void)?, readGate: (@Sendable () -> Bool)?, cancelled: CancellationFlag
    ) async throws -> Result<WebSocketConnection, UpgradeRefusal> {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                let connection: WebSocketConnection
                do {
                    let socket = try CurlSocket.connect(
                        url: url, tls: tls, timeout: min(timeout, 10), cancelled: cancelled)
                    let handshake = WebSocketHandshake(url: url, headers: headers, protocols: protocols)
                    switch try handshake.perform(on: socket, timeout: timeout) {
                    case .refused(let status, let body):
                        continuation.resume(returning: .failure(UpgradeRefusal(status: status, body: body)))
                        return
                    case .upgraded(let subprotocol, let leftover):
                        connection = try WebSocketConnection(
                            socket: socket, subprotocol: subprotocol, handler: handler, readGate: readGate)
                        continuation.resume(returning: .success(connection))
                        connection.run(leftover: leftover)
                    }
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "devloop-websocket"
            thread.start()
        }
    }

    private init(
        socket: CurlSocket, subprotocol: String, handler: (@Sendable (Data) -> Void)?,
        readGate: (@Sendable () -> Bool)?
    ) throws {
        self.socket = socket
        self.handler = handler
        self.readGate = readGate
        self.subprotocol = subprotocol
        inbound = BoundedBuffer(high: Self.inboundHigh, low: Self.inboundLow, cost: { $0.count })
        messages = inbound.stream()
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw WebSocketProtocolError(description: "cannot create a wake-up pipe") }
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        wakeRead = fds[0]
        wakeWrite = fds[1]
        inbound.onResume { [weak self] in self?.wake() }
    }

    deinit {
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }

    /// Sends one binary message and waits until it is on the wire: callers get backpressure.
    public func send(_ payload: Data) async throws {
        try await send(payload, opcode: .binary)
    }

    func send(_ payload: Data, opcode: WebSocketOpcode) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            enqueue(WebSocketFrame(opcode: opcode, payload: payload).encoded()) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
        }
    }

    /// Sends from a plain thread (a local socket reader), blocking until the bytes are written.
    func sendBlocking(_ payload: Data) throws {
        let result = Locked<Error?>(nil)
        let written = DispatchSemaphore(value: 0)
        enqueue(WebSocketFrame(opcode: .binary, payload: payload).encoded()) { error in
            result.withLock { $0 = error }
            written.signal()
        }
        written.wait()
        if let error = result.current { throw error }
    }

    /// Blocks until the I/O thread has stopped.
    func waitUntilFinished() {
        done.wait()
        done.signal()
    }

    /// Starts the closing handshake; the message stream ends when the server answers or drops.
    public func close(code: UInt16 = 1000) {
        let alreadySent = state.withLock { state in
            defer { state.closeSent = true }
            return state.closeSent
        }
        guard !alreadySent else { return }
        let payload = Data([UInt8(code >> 8), UInt8(code & 0xFF)])
        enqueue(WebSocketFrame(opcode: .close, payload: payload).encoded(), done: nil, force: true)
    }

    /// Drops the connection at once.
    public func cancel() {
        state.withLock { $0.cancelled = true }
        wake()
    }

    /// The read gate may say yes again: the I/O thread looks (it never polls a closed gate).
    func resumeReading() {
        wake()
    }

    /// Bytes of messages waiting for a reader of `messages` (for tests of the bound).
    var queuedBytes: Int { inbound.queuedSize }

    private func enqueue(_ bytes: Data, done: (@Sendable (Error?) -> Void)?, force: Bool = false) {
        let failure: Error? = state.withLock { state in
            if state.isFinished { return state.finished ?? WebSocketProtocolError(description: "the stream is closed") }
            if let failure = state.writeFailure { return failure }
            if state.closeSent && !force { return WebSocketProtocolError(description: "the stream is closing") }
            state.queue.append(Pending(bytes: bytes, done: done))
            return nil
        }
        if let failure { done?(failure) } else { wake() }
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    // MARK: - The I/O thread

    private func run(leftover: Data) {
        var parser = WebSocketFrameParser()
        var assembler = WebSocketMessageAssembler()
        parser.append(leftover)
        var closeReceivedAt: Date?
        var outcome: Error?
        var writeFailure: Error?
        loop: while true {
            do {
                if state.withLock({ $0.cancelled }) { throw CancellationError() }
                // Read everything available before polling (OpenSSL buffers decrypted bytes).
                var peerClosed = false
                if let message = held, inbound.offer(message) { held = nil }
                let mayRead = { self.held == nil && (self.readGate?() ?? true) }
                reading: while mayRead() {
                    switch try socket.read() {
                    case .data(let data):
                        parser.append(data)
                        while held == nil, let frame = try parser.next() {
                            if frame.opcode == .close { closeReceivedAt = closeReceivedAt ?? Date() }
                            try handle(frame, &assembler)
                        }
                    case .wouldBlock: break reading
                    case .closed:
                        peerClosed = true
                        break reading
                    }
                }
                while held == nil, let frame = try parser.next() {
                    if frame.opcode == .close { closeReceivedAt = closeReceivedAt ?? Date() }
                    try handle(frame, &assembler)
                }
                if peerClosed {
                    outcome = writeFailure
                    break loop
                }
                // A peer that stops reading (a command that exited early) may still be sending its
                // answer: a failed write fails the sends, and reading goes on until the peer closes.
                var wantsWrite = false
                if writeFailure == nil {
                    do {
                        wantsWrite = try flush()
                    } catch {
                        writeFailure = error
                        failPendingWrites(error)
                    }
                }
                let drained = state.withLock { $0.queue.isEmpty } && writing == nil
                if let closeReceivedAt, drained || Date().timeIntervalSince(closeReceivedAt) > 2 { break loop }
                // A paused reader wakes us through the pipe (`resumeReading`, the buffer's `onResume`).
                // While paused and with nothing to write the socket is left out of the poll set: a
                // hung-up socket reports POLLHUP even unasked, and would turn the wait into a spin.
                let reading = mayRead()
                let events = (reading ? Int16(POLLIN) : 0) | (wantsWrite ? Int16(POLLOUT) : 0)
                var descriptors = [
                    pollfd(fd: events == 0 ? -1 : socket.socket, events: events, revents: 0),
                    pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                ]
                let timeout = closeReceivedAt.map { Int32(max(0, 2 - Date().timeIntervalSince($0)) * 1000) + 1 } ?? -1
                polls.add(1, ordering: .relaxed)
                _ = poll(&descriptors, 2, timeout)
                var drain = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &drain, 64) > 0 {}
            } catch {
                outcome = error
                break loop
            }
        }
        finish(outcome)
    }

    private func handle(_ frame: WebSocketFrame, _ assembler: inout WebSocketMessageAssembler) throws {
        switch frame.opcode {
        case .ping:
            enqueue(WebSocketFrame(opcode: .pong, payload: frame.payload).encoded(), done: nil, force: true)
        case .pong:
            break
        case .close:
            // Echo the peer's status code, as RFC 6455 asks.
            let payload = frame.payload
            close(
                code: payload.count >= 2
                    ? UInt16(payload[payload.startIndex]) << 8 | UInt16(payload[payload.startIndex + 1]) : 1000)
        default:
            if let (_, message) = try assembler.add(frame) {
                if let handler {
                    handler(message)
                } else if !inbound.offer(message) {
                    held = message
                }
            }
        }
    }

    /// Writes queued frames until done or the socket is full; true when bytes are still waiting.
    private func flush() throws -> Bool {
        while true {
            if writing == nil {
                guard let next = state.withLock({ $0.queue.isEmpty ? nil : $0.queue.removeFirst() }) else {
                    return false
                }
                writing = (PinnedBytes(next.bytes), next.done)
            }
            guard let (bytes, done) = writing else { return false }
            guard try socket.write(bytes) else { return true }
            writing = nil
            done?(nil)
        }
    }

    private func failPendingWrites(_ error: Error) {
        let pending = state.withLock { state in
            state.writeFailure = error
            defer { state.queue = [] }
            return state.queue
        }
        for item in pending { item.done?(error) }
        writing?.1?(error)
        writing = nil
    }

    private func finish(_ error: Error?) {
        // The peer sees the end now, not when the last reference to this object goes away.
        shutdown(socket.socket, Int32(SHUT_RDWR))
        let pending = state.withLock { state in
            state.isFinished = true
            state.finished = error ?? WebSocketProtocolError(description: "the stream is closed")
            defer { state.queue = [] }
            return state.queue
        }
        let failure = error ?? WebSocketProtocolError(description: "the stream closed before the data was sent")
        for item in pending { item.done?(failure) }
        writing?.1?(failure)
        writing = nil
        held = nil
        inbound.finish(throwing: error is CancellationError ? nil : error)
        handler?(Data())
        done.signal()
    }
}

/// A non-101 answer to the upgrade request, decoded by the caller into a metav1.Status error.
struct UpgradeRefusal: Error {
    var status: Int
    var body: Data
}
