import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A client SPDY/3.1 connection for port-forward, carrying one stream pair per forwarded TCP
/// connection. One thread owns the socket (libcurl and OpenSSL are not safe for concurrent send/recv):
/// it reads frames, answers PINGs, acknowledges data with WINDOW_UPDATE and writes queued frames,
/// sleeping in poll() on the socket and an eventfd.
///
/// Like spdystream on the server side, sending does not wait for the peer's window (kubelet never
/// grants one): TCP gives the backpressure. Buffers are bounded: senders block while 4 MB wait to go
/// out, and reading pauses while any stream's local side lags (`SPDYStreamPairDelegate.hasRoom`).
final class SPDYConnection: @unchecked Sendable {
    private let socket: CurlSocket
    /// The I/O thread's alone: senders on other threads wrap with `tunnelled`, never reading this
    /// (a copy of it while the I/O thread mutates it raced on its buffer and crashed).
    private var carrier: SPDYCarrier
    private let tunnelled: Bool
    private let decoder = SPDYClientCodec()
    private let wakeup: EventWakeup
    private let logger: Logger
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var state = State()
    private static let outboundLimit = 4 << 20
    /// Data is acknowledged in steps of this size (per stream and for the connection, as SPDY/3.1 asks).
    private static let windowStep = 32 * 1024

    private struct State {
        var queue = ByteDeque()
        var encoder = SPDYClientCodec()
        var nextStreamID: UInt32 = 1
        var pairs: [UInt32: SPDYStreamPair] = [:]
        var closing = false
        var finished = false
        var goAway = false
        var cancelled = false
    }

    init(socket: CurlSocket, tunnelled: Bool, leftover: Data, logger: Logger) throws {
        self.socket = socket
        self.logger = logger
        carrier = SPDYCarrier(tunnelled: tunnelled)
        self.tunnelled = tunnelled
        wakeup = try EventWakeup()
        try carrier.receive(leftover, into: decoder) { _ in }
    }

    /// Starts the I/O thread.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "devloop-spdy"
        thread.start()
    }

    /// True while new streams can be opened (no GOAWAY, not closed).
    var isUsable: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !state.finished && !state.goAway && !state.closing
    }

    var openPairs: Int {
        condition.lock()
        defer { condition.unlock() }
        return state.pairs.count
    }

    /// Opens the error and data streams for one forwarded connection to `port`.
    func openPair(port: UInt16, requestID: Int, delegate: any SPDYStreamPairDelegate) throws -> SPDYStreamPair {
        condition.lock()
        defer { condition.unlock() }
        guard !state.finished, !state.goAway, !state.closing else {
            throw SPDYClientError("the connection is closed")
        }
        let errorID = state.nextStreamID
        let dataID = errorID + 2
        state.nextStreamID += 4
        let pair = SPDYStreamPair(errorStream: errorID, dataStream: dataID, delegate: delegate, connection: self)
        state.pairs[errorID] = pair
        state.pairs[dataID] = pair
        func headers(_ type: String) -> [(String, String)] {
            [("streamtype", type), ("port", String(port)), ("requestid", String(requestID))]
        }
        // As client-go: the error stream first, closed for writing at once, then the data stream.
        try enqueueLocked(.synStream(streamID: errorID, flags: 0, headers: headers("error")))
        try enqueueLocked(.data(streamID: errorID, fin: true, payload: Data()))
        try enqueueLocked(.synStream(streamID: dataID, flags: 0, headers: headers("data")))
        wakeup.signal()
        return pair
    }

    /// Queues a frame, blocking while the outbound buffer is full.
    func send(_ frame: SPDYClientFrame) throws {
        condition.lock()
        defer { condition.unlock() }
        while state.queue.count >= Self.outboundLimit && !state.finished { condition.wait() }
        guard !state.finished else { throw SPDYClientError("the connection is closed") }
        try enqueueLocked(frame)
        wakeup.signal()
    }

    func reset(_ pair: SPDYStreamPair) {
        condition.lock()
        let known = state.pairs[pair.dataStream] === pair
        state.pairs[pair.errorStream] = nil
        state.pairs[pair.dataStream] = nil
        if known, !state.finished {
            try? enqueueLocked(.rstStream(streamID: pair.dataStream, status: 5))
            try? enqueueLocked(.rstStream(streamID: pair.errorStream, status: 5))
        }
        condition.unlock()
        wakeup.signal()
    }

    func wake() {
        wakeup.signal()
    }

    /// Says GOAWAY and ends the connection once the queue is out; streams still open end as lost.
    func close() {
        condition.lock()
        if !state.closing && !state.finished {
            state.closing = true
            try? enqueueLocked(.goAway(lastGoodStreamID: 0, status: 0))
        }
        condition.unlock()
        wakeup.signal()
    }

    /// Drops the connection at once.
    func cancel() {
        condition.lock()
        state.cancelled = true
        condition.unlock()
        wakeup.signal()
    }

    private func enqueueLocked(_ frame: SPDYClientFrame) throws {
        state.queue.append(SPDYCarrier.wrap(try state.encoder.encode(frame), tunnelled: tunnelled))
    }

    // MARK: - The I/O thread

    private var writing: PinnedBytes?
    private var connectionUnacknowledged = 0

    private func run() {
        var failure: Error?
        do {
            try loop()
        } catch {
            failure = error
        }
        finish(failure)
    }

    private func loop() throws {
        while true {
            let (cancelled, closing) = locked { ($0.cancelled, $0.closing) }
            if cancelled { return }
            var peerClosed = false
            reading: while mayRead() {
                switch try socket.read() {
                case .data(let bytes):
                    try carrier.receive(bytes, into: decoder) { reply in
                        self.locked { $0.queue.append(reply) }
                    }
                    while let frame = try decoder.next() { try handle(frame) }
                    if carrier.closed { peerClosed = true }
                case .wouldBlock: break reading
                case .closed:
                    peerClosed = true
                    break reading
                }
                if peerClosed { break reading }
            }
            if peerClosed { return }
            let wantsWrite = try flush()
            if closing, !wantsWrite, locked({ $0.queue.isEmpty }) { return }
            // While paused with nothing to write the socket is left out of the poll set (a hung-up
            // socket reports POLLHUP even unasked, which would make the wait a spin): the local side
            // wakes us when it has room (`SPDYStreamPair.wake`).
            let reading = mayRead()
            let events = (reading ? Int16(POLLIN) : 0) | (wantsWrite ? Int16(POLLOUT) : 0)
            var descriptors = [
                pollfd(fd: events == 0 ? -1 : socket.socket, events: events, revents: 0),
                pollfd(fd: wakeup.descriptor, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&descriptors, 2, -1)
            wakeup.drain()
        }
    }

    private func mayRead() -> Bool {
        locked { state in state.pairs.values.allSatisfy { $0.delegate.hasRoom } }
    }

    private func handle(_ frame: SPDYClientFrame) throws {
        switch frame {
        case .data(let streamID, let fin, let payload):
            guard let pair = locked({ $0.pairs[streamID] }) else { return }
            if streamID == pair.errorStream {
                if pair.errorText.count < 64 * 1024 { pair.errorText.append(payload) }
                if fin || !payload.isEmpty, !pair.errorText.isEmpty {
                    pair.delegate.receivedError(String(decoding: pair.errorText, as: UTF8.self))
                    pair.errorText = Data()
                }
                return
            }
            if !payload.isEmpty {
                pair.delegate.received(payload)
                acknowledge(pair, payload.count)
            }
            if fin { end(pair, lost: false) }
        case .rstStream(let streamID, _):
            if let pair = locked({ $0.pairs[streamID] }) { end(pair, lost: true) }
        case .ping(let id):
            // Odd ids are our own pings coming back; the server's (even) ones are answered.
            if id % 2 == 0 { locked { try? enqueue(.ping(id: id), &$0) } }
        case .goAway:
            locked { $0.goAway = true }
        case .synStream(let streamID, _, _):
            // Port-forward servers open no streams.
            locked { try? enqueue(.rstStream(streamID: streamID, status: 3), &$0) }
        case .synReply, .settings, .windowUpdate, .ignored:
            break
        }
    }

    private func enqueue(_ frame: SPDYClientFrame, _ state: inout State) throws {
        state.queue.append(SPDYCarrier.wrap(try state.encoder.encode(frame), tunnelled: tunnelled))
    }

    private func acknowledge(_ pair: SPDYStreamPair, _ count: Int) {
        pair.unacknowledged += count
        connectionUnacknowledged += count
        locked { state in
            if pair.unacknowledged >= Self.windowStep {
                try? enqueue(.windowUpdate(streamID: pair.dataStream, delta: UInt32(pair.unacknowledged)), &state)
                pair.unacknowledged = 0
            }
            if connectionUnacknowledged >= Self.windowStep {
                try? enqueue(.windowUpdate(streamID: 0, delta: UInt32(connectionUnacknowledged)), &state)
                connectionUnacknowledged = 0
            }
        }
    }

    private func end(_ pair: SPDYStreamPair, lost: Bool) {
        let known = locked { state -> Bool in
            guard state.pairs[pair.dataStream] === pair else { return false }
            state.pairs[pair.errorStream] = nil
            state.pairs[pair.dataStream] = nil
            return true
        }
        if known { pair.delegate.ended(lost: lost) }
    }

    /// Writes queued bytes (coalesced up to 256 KB per write) until done or the socket is full; true
    /// when bytes are still waiting.
    private func flush() throws -> Bool {
        while true {
            if writing == nil {
                let next = locked { state -> Data? in
                    let chunk = state.queue.take(upTo: 256 * 1024)
                    condition.broadcast()
                    return chunk
                }
                guard let next else { return false }
                writing = PinnedBytes(next)
            }
            guard let bytes = writing else { return false }
            guard try socket.write(bytes) else { return true }
            writing = nil
        }
    }

    private func finish(_ error: Error?) {
        shutdown(socket.socket, Int32(SHUT_RDWR))
        let pairs = locked { state -> [SPDYStreamPair] in
            state.finished = true
            state.queue = ByteDeque()
            defer { state.pairs = [:] }
            condition.broadcast()
            var seen = Set<ObjectIdentifier>()
            return state.pairs.values.filter { seen.insert(ObjectIdentifier($0)).inserted }
        }
        if let error { logger.debug("SPDY connection ended: \(error)") }
        for pair in pairs { pair.delegate.ended(lost: true) }
    }

    private func locked<T>(_ body: (inout State) throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body(&state)
    }
}

/// How SPDY bytes travel: straight on the socket after `Upgrade: SPDY/3.1`, or as WebSocket binary
/// messages inside `SPDY/3.1+portforward.k8s.io` (client-go's TunnelingConnection: message boundaries
/// mean nothing).
struct SPDYCarrier {
    let tunnelled: Bool
    private var parser = WebSocketFrameParser()
    private(set) var closed = false

    init(tunnelled: Bool) {
        self.tunnelled = tunnelled
    }

    static func wrap(_ bytes: Data, tunnelled: Bool) -> Data {
        tunnelled ? WebSocketFrame(opcode: .binary, payload: bytes).encoded() : bytes
    }

    /// Feeds received bytes to `decoder`; control replies (pongs, the close echo) go to `reply`.
    mutating func receive(_ bytes: Data, into decoder: SPDYClientCodec, reply: (Data) -> Void) throws {
        guard tunnelled else {
            decoder.append(bytes)
            return
        }
        parser.append(bytes)
        while let frame = try parser.next() {
            switch frame.opcode {
            case .binary, .continuation: decoder.append(frame.payload)
            case .ping: reply(WebSocketFrame(opcode: .pong, payload: frame.payload).encoded())
            case .close:
                reply(WebSocketFrame(opcode: .close, payload: frame.payload.prefix(2)).encoded())
                closed = true
            case .text: throw SPDYClientError("a text message in the SPDY tunnel")
            case .pong: break
            }
        }
    }
}
