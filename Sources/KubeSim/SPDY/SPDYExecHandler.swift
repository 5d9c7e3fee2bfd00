import NIOCore
import NIOWebSocket

/// The server side of `pods/exec` over plain SPDY/3.1 with `v4.channel.k8s.io`: what kubectl falls
/// back to when the API server refuses its v5 WebSocket (a 1.25 cluster). The client opens one stream
/// per `streamType` (error, stdin, stdout, stderr, resize); this handler presents them to
/// `ExecSession` as the WebSocket protocol's channel messages — stdin's data as channel 0 and its end
/// (FIN) as 255 — and turns the session's channels 1, 2 and 3 into data on the stdout, stderr and
/// error streams; the session's close frame ends every stream.
final class SPDYExecHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = ByteBuffer

    private static let outputStreams: [UInt8: String] = [1: "stdout", 2: "stderr", 3: "error"]

    private var input = SPDYFrameAccumulator()
    private let encoder = SPDYFrameEncoder()
    private let expected: Set<String>
    private let ready: EventLoopPromise<Void>
    private let continuation: AsyncStream<WebSocketFrame>.Continuation
    private var streamOfType: [String: UInt32] = [:]
    private var typeOfStream: [UInt32: String] = [:]
    private var lastClientStream: UInt32 = 0
    private var stdinEnded = false
    private var isReady = false

    /// `expected`: the stream types the request's flags call for; `ready` succeeds once all are open.
    init(
        expected: Set<String>, ready: EventLoopPromise<Void>, continuation: AsyncStream<WebSocketFrame>.Continuation
    ) {
        self.expected = expected
        self.ready = ready
        self.continuation = continuation
    }

    /// The stream types kubelet waits for before it starts the command.
    static func expectedStreams(stdin: Bool, stdout: Bool, stderr: Bool, tty: Bool) -> Set<String> {
        var types: Set<String> = ["error"]
        if stdin { types.insert("stdin") }
        if stdout { types.insert("stdout") }
        if stderr && !tty { types.insert("stderr") }
        if tty { types.insert("resize") }
        return types
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let (frames, malformed) = input.read(unwrapInboundIn(data), allocator: context.channel.allocator)
        for frame in frames { handle(frame, context: context) }
        if malformed {
            write(.goAway(lastGoodStreamID: lastClientStream, status: SPDYSessionStatus.protocolError), context)
            context.flush()
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !isReady {
            isReady = true
            ready.fail(ChannelError.ioOnClosedChannel)
        }
        continuation.finish()
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        switch frame.opcode {
        case .binary:
            var payload = frame.data
            guard let number = payload.readInteger(as: UInt8.self), let type = Self.outputStreams[number],
                let stream = streamOfType[type]
            else {
                promise?.succeed()
                return
            }
            write(.data(streamID: stream, fin: false, payload: payload), context, promise: promise)
        case .connectionClose:
            // The session closes the connection once `promise` completes: after the last FIN is written.
            let streams = streamOfType.values.sorted()
            guard let last = streams.last else {
                promise?.succeed()
                return
            }
            for stream in streams {
                write(
                    .data(streamID: stream, fin: true, payload: ByteBuffer()), context,
                    promise: stream == last ? promise : nil)
            }
            context.flush()
        default:
            promise?.succeed()
        }
    }

    private func handle(_ frame: SPDYFrame, context: ChannelHandlerContext) {
        switch frame {
        case .synStream(let streamID, _, _, let flags, let headers):
            lastClientStream = max(lastClientStream, streamID)
            guard let type = headers["streamtype"], Self.knownTypes.contains(type), streamOfType[type] == nil else {
                write(.rstStream(streamID: streamID, status: SPDYStreamStatus.protocolError), context)
                return
            }
            write(.synReply(streamID: streamID, flags: 0, headers: SPDYHeaderBlock()), context)
            streamOfType[type] = streamID
            typeOfStream[streamID] = type
            if type == "stdin", flags & SPDYFrame.finFlag != 0 { endStdin(context) }
            if !isReady, expected.isSubset(of: streamOfType.keys) {
                isReady = true
                ready.succeed()
            }
        case .data(let streamID, let fin, let payload):
            guard typeOfStream[streamID] == "stdin" else { return }
            if payload.readableBytes > 0 {
                var message = context.channel.allocator.buffer(capacity: 1 + payload.readableBytes)
                message.writeInteger(UInt8(0))
                message.writeImmutableBuffer(payload)
                continuation.yield(WebSocketFrame(fin: true, opcode: .binary, data: message))
            }
            if fin { endStdin(context) }
        case .rstStream(let streamID, _):
            if typeOfStream[streamID] == "stdin" { endStdin(context) }
        case .ping(let id):
            write(.ping(id: id), context)
        case .goAway:
            context.close(promise: nil)
        case .synReply, .headers, .settings, .windowUpdate, .unknown:
            break
        }
    }

    private static let knownTypes: Set<String> = ["error", "stdin", "stdout", "stderr", "resize"]

    private func endStdin(_ context: ChannelHandlerContext) {
        guard !stdinEnded else { return }
        stdinEnded = true
        var message = context.channel.allocator.buffer(capacity: 1)
        message.writeInteger(UInt8(255))
        continuation.yield(WebSocketFrame(fin: true, opcode: .binary, data: message))
    }

    private func write(_ frame: SPDYFrame, _ context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        encoder.encode(frame, into: &buffer)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    /// Puts the handler on an upgraded channel; the messages for `ExecSession`, and a future that
    /// succeeds once every expected stream is open (wait for it outside the upgrade: the streams
    /// arrive only after it completes).
    static func install(on channel: Channel, expected: Set<String>) async throws -> (
        frames: AsyncStream<WebSocketFrame>, ready: EventLoopFuture<Void>
    ) {
        let (frames, continuation) = AsyncStream<WebSocketFrame>.makeStream()
        let ready = channel.eventLoop.makePromise(of: Void.self)
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(
                SPDYExecHandler(expected: expected, ready: ready, continuation: continuation))
        }.get()
        return (frames, ready.futureResult)
    }
}
