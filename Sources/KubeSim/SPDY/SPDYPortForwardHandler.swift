import NIOCore
import NIOPosix

/// The server side of `kubectl port-forward` over SPDY/3.1, as kubelet serves it: for each forwarded
/// connection kubectl opens an error and a data stream (same `requestid`); the handler replies, dials
/// the pod's port and pumps bytes both ways; a failure is written as text on the error stream.
///
/// Transport-agnostic: put it after a plain `Upgrade: SPDY/3.1` HTTP upgrade, or behind
/// `WebSocketByteStreamHandler` for kubectl 1.31+'s `SPDY/3.1+portforward.k8s.io` WebSocket tunnel.
/// Like spdystream (kubectl's side), it does no SPDY flow control: WINDOW_UPDATE and SETTINGS are ignored,
/// and back-pressure comes from TCP (reading stops while the pod's side or the client's is full).
public final class SPDYPortForwardHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer
    /// Returns a connected socket to the port inside the pod (`PodRuntime.dial`), which the handler owns.
    public typealias Dial = @Sendable (Int) async throws -> Int32

    private let dial: Dial
    private let podName: String
    private let uid: String
    private let upstreamGroup: any EventLoopGroup
    private let streamCreationTimeout: TimeAmount
    private var input = SPDYFrameAccumulator()
    private let encoder = SPDYFrameEncoder()
    private var context: ChannelHandlerContext?
    private var requests: [String: PortForwardRequest] = [:]
    private var requestOfStream: [UInt32: String] = [:]
    private var lastClientStream: UInt32 = 0
    private var readPaused = false
    private var readPending = false

    /// `podName` and `uid` appear in error messages as kubelet writes them. Connections to the pod use the
    /// channel's event loop when it is a NIOPosix one, else `upstreamGroup`.
    public init(
        podName: String = "", uid: String = "",
        upstreamGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        streamCreationTimeout: TimeAmount = .seconds(30), dial: @escaping Dial
    ) {
        self.podName = podName
        self.uid = uid
        self.upstreamGroup = upstreamGroup
        self.streamCreationTimeout = streamCreationTimeout
        self.dial = dial
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        closeAllRequests()
        self.context = nil
    }

    public func channelInactive(context: ChannelHandlerContext) {
        closeAllRequests()
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let (frames, malformed) = input.read(unwrapInboundIn(data), allocator: context.channel.allocator)
        for frame in frames { handle(frame, context: context) }
        if malformed {
            // A frame that does not parse leaves the stream unreadable: say why and hang up.
            write(
                .goAway(lastGoodStreamID: lastClientStream, status: SPDYSessionStatus.protocolError), context: context)
            context.flush()
            context.close(promise: nil)
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    public func read(context: ChannelHandlerContext) {
        if readPaused { readPending = true } else { context.read() }
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        for request in requests.values {
            request.upstream?.setOption(ChannelOptions.autoRead, value: writable).whenFailure { _ in }
        }
        context.fireChannelWritabilityChanged()
    }

    private func handle(_ frame: SPDYFrame, context: ChannelHandlerContext) {
        switch frame {
        case .synStream(let streamID, _, _, let flags, let headers):
            openStream(streamID, finished: flags & SPDYFrame.finFlag != 0, headers: headers, context: context)
        case .data(let streamID, let fin, let payload):
            receive(payload, fin: fin, on: streamID)
        case .rstStream(let streamID, _):
            if let id = requestOfStream[streamID], let request = requests[id] { finish(request, context: context) }
        case .ping(let id):
            write(.ping(id: id), context: context)
        case .goAway:
            context.close(promise: nil)
        case .synReply, .headers, .settings, .windowUpdate, .unknown:
            break
        }
    }

    private func openStream(
        _ streamID: UInt32, finished: Bool, headers: SPDYHeaderBlock, context: ChannelHandlerContext
    ) {
        lastClientStream = max(lastClientStream, streamID)
        guard let stream = try? PortForwardStreamHeaders(headers, streamID: streamID) else {
            write(.rstStream(streamID: streamID, status: SPDYStreamStatus.cancel), context: context)
            return
        }
        let request = requests[stream.requestID] ?? newRequest(stream, context: context)
        let taken = stream.kind == .error ? request.errorStream : request.dataStream
        guard taken == nil, case .waitingForStreams = request.state else {
            write(.rstStream(streamID: streamID, status: SPDYStreamStatus.cancel), context: context)
            return
        }
        write(.synReply(streamID: streamID, flags: 0, headers: SPDYHeaderBlock()), context: context)
        requestOfStream[streamID] = request.id
        switch stream.kind {
        case .error: request.errorStream = streamID
        case .data:
            request.dataStream = streamID
            request.port = stream.port
            request.clientFinished = finished
        }
        if request.isComplete {
            request.timeout?.cancel()
            connect(request, context: context)
        }
    }

    private func newRequest(_ stream: PortForwardStreamHeaders, context: ChannelHandlerContext) -> PortForwardRequest {
        let request = PortForwardRequest(id: stream.requestID, port: stream.port)
        requests[request.id] = request
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let pending = NIOLoopBound(request, eventLoop: context.eventLoop)
        request.timeout = context.eventLoop.scheduleTask(in: streamCreationTimeout) {
            handler.value.timedOut(pending.value)
        }
        return request
    }

    private func timedOut(_ request: PortForwardRequest) {
        guard let context, case .waitingForStreams = request.state else { return }
        fail(
            request, message: "(conn=\(context.channel), request=\(request.id)) timed out waiting for streams",
            context: context)
    }

    private func connect(_ request: PortForwardRequest, context: ChannelHandlerContext) {
        request.state = .dialing
        let dial = self.dial
        let port = request.port
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let dialing = NIOLoopBound(request, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let upstreamGroup = self.upstreamGroup
        let requestID = request.id
        let dialed = context.eventLoop.makePromise(of: Int32.self)
        dialed.completeWithTask { try await dial(port) }
        dialed.futureResult.flatMap { fd in
            // The session's own event loop when it can hold sockets (not so in tests on an embedded loop).
            let bootstrap = ClientBootstrap(validatingGroup: eventLoop) ?? ClientBootstrap(group: upstreamGroup)
            return bootstrap.channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            PortForwardUpstreamHandler(session: handler, requestID: requestID))
                    }
                }
                .withConnectedSocket(fd)
                .hop(to: handler.eventLoop)
        }.whenComplete { result in
            handler.value.connected(dialing.value, result: result)
        }
    }

    private func connected(_ request: PortForwardRequest, result: Result<any Channel, any Error>) {
        guard let context, case .dialing = request.state else {
            if case .success(let channel) = result { channel.close(promise: nil) }
            return
        }
        switch result {
        case .failure(let error):
            fail(
                request, message: "error forwarding port \(request.port) to pod \(podName), uid \(uid): \(error)",
                context: context)
        case .success(let channel):
            request.state = .forwarding(channel)
            if !context.channel.isWritable {
                channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
            }
            for payload in request.pending { request.lastWrite = channel.write(payload) }
            request.pending = []
            channel.flush()
            if request.clientFinished { shutDownOutput(of: request, channel: channel) }
        }
    }

    private func receive(_ payload: ByteBuffer, fin: Bool, on streamID: UInt32) {
        guard let id = requestOfStream[streamID], let request = requests[id], streamID == request.dataStream else {
            return
        }
        if payload.readableBytes > 0 {
            if let upstream = request.upstream {
                request.lastWrite = upstream.writeAndFlush(payload)
                if !upstream.isWritable { readPaused = true }
            } else {
                request.pending.append(payload)
            }
        }
        if fin && !request.clientFinished {
            request.clientFinished = true
            if let upstream = request.upstream { shutDownOutput(of: request, channel: upstream) }
        }
    }

    /// The client will send nothing more: half-close toward the pod once its bytes are written.
    private func shutDownOutput(of request: PortForwardRequest, channel: any Channel) {
        let written = request.lastWrite ?? channel.eventLoop.makeSucceededVoidFuture()
        written.whenComplete { _ in channel.close(mode: .output, promise: nil) }
    }

    fileprivate func upstreamRead(_ requestID: String, _ payload: ByteBuffer) {
        guard let context, let request = requests[requestID], let stream = request.dataStream else { return }
        write(.data(streamID: stream, fin: false, payload: payload), context: context)
    }

    fileprivate func upstreamReadComplete() {
        context?.flush()
    }

    /// The pod closed its side: finish both streams, as kubelet does when its copy from the pod ends.
    fileprivate func upstreamFinished(_ requestID: String) {
        guard let context, let request = requests[requestID] else { return }
        finish(request, context: context)
    }

    fileprivate func upstreamWritabilityChanged() {
        guard readPaused, requests.values.allSatisfy({ $0.upstream?.isWritable ?? true }) else { return }
        readPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    /// Writes `message` on the error stream, then ends the request.
    private func fail(_ request: PortForwardRequest, message: String, context: ChannelHandlerContext) {
        if let stream = request.errorStream {
            let payload = context.channel.allocator.buffer(string: message)
            write(.data(streamID: stream, fin: false, payload: payload), context: context)
        }
        finish(request, context: context)
    }

    /// FIN on both streams, the pod connection closed, the request forgotten.
    private func finish(_ request: PortForwardRequest, context: ChannelHandlerContext) {
        if case .finished = request.state { return }
        let upstream = request.upstream
        request.state = .finished
        request.timeout?.cancel()
        requests[request.id] = nil
        for stream in request.streams {
            write(.data(streamID: stream, fin: true, payload: ByteBuffer()), context: context)
            requestOfStream[stream] = nil
        }
        context.flush()
        // Last: on this event loop the close runs at once and reports back here.
        upstream?.close(promise: nil)
        upstreamWritabilityChanged()
    }

    private func closeAllRequests() {
        for request in requests.values {
            request.timeout?.cancel()
            request.upstream?.close(promise: nil)
            request.state = .finished
        }
        requests = [:]
        requestOfStream = [:]
    }

    private func write(_ frame: SPDYFrame, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        encoder.encode(frame, into: &buffer)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }
}

/// Relays a pod connection's events to its port-forward session, on the session's event loop.
private final class PortForwardUpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let session: NIOLoopBound<SPDYPortForwardHandler>
    private let requestID: String

    init(session: NIOLoopBound<SPDYPortForwardHandler>, requestID: String) {
        self.session = session
        self.requestID = requestID
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        let requestID = requestID
        onSessionLoop { $0.upstreamRead(requestID, payload) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        onSessionLoop { $0.upstreamReadComplete() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            let requestID = requestID
            onSessionLoop { $0.upstreamFinished(requestID) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let requestID = requestID
        onSessionLoop { $0.upstreamFinished(requestID) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        onSessionLoop { $0.upstreamWritabilityChanged() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func onSessionLoop(_ body: @escaping @Sendable (SPDYPortForwardHandler) -> Void) {
        let session = session
        if session.eventLoop.inEventLoop {
            body(session.value)
        } else {
            session.eventLoop.execute { body(session.value) }
        }
    }
}

extension SPDYPortForwardHandler {
    /// Serves port-forward on `channel` after a plain `Upgrade: SPDY/3.1` (raw bytes in the pipeline).
    public static func install(
        on channel: any Channel, podName: String = "", uid: String = "", dial: @escaping Dial
    ) async throws {
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(
                SPDYPortForwardHandler(podName: podName, uid: uid, dial: dial))
        }.get()
    }

    /// Serves port-forward on `channel` after a WebSocket upgrade to `SPDY/3.1+portforward.k8s.io`, with
    /// NIO's WebSocket frame codec in the pipeline (frames in and out).
    public static func installTunneled(
        on channel: any Channel, podName: String = "", uid: String = "", dial: @escaping Dial
    ) async throws {
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandlers([
                WebSocketByteStreamHandler(), SPDYPortForwardHandler(podName: podName, uid: uid, dial: dial),
            ])
        }.get()
    }
}
