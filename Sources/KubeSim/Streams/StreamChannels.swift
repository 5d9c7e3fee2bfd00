import Foundation
import NIOCore
import NIOPosix
import NIOWebSocket

/// Hands the messages of an upgraded WebSocket to async code, answers pings, and echoes the close.
final class WebSocketInbox: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let continuation: AsyncStream<WebSocketFrame>.Continuation
    private var fragments: ByteBuffer?
    private var fragmentOpcode: WebSocketOpcode = .binary

    init(continuation: AsyncStream<WebSocketFrame>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .pong:
            break
        case .connectionClose:
            var reply = context.channel.allocator.buffer(capacity: 2)
            reply.writeInteger(UInt16(1000))
            let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: reply)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(close)).whenComplete { _ in channel.close(promise: nil) }
            continuation.finish()
        case .continuation:
            var data = frame.unmaskedData
            fragments?.writeBuffer(&data)
            if frame.fin, let whole = fragments {
                continuation.yield(WebSocketFrame(fin: true, opcode: fragmentOpcode, data: whole))
                fragments = nil
            }
        default:
            if frame.fin {
                continuation.yield(WebSocketFrame(fin: true, opcode: frame.opcode, data: frame.unmaskedData))
            } else {
                fragments = frame.unmaskedData
                fragmentOpcode = frame.opcode
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        continuation.finish()
        context.close(promise: nil)
    }

    /// Adds an inbox to an upgraded channel and returns its messages.
    static func install(on channel: Channel) async throws -> AsyncStream<WebSocketFrame> {
        let (frames, continuation) = AsyncStream<WebSocketFrame>.makeStream()
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(WebSocketInbox(continuation: continuation))
        }.get()
        return frames
    }
}

extension Channel {
    /// A binary message: the channel byte, then the payload (the k8s channel protocols).
    func sendChannelMessage(_ number: UInt8, _ payload: ByteBuffer? = nil) -> EventLoopFuture<Void> {
        var buffer = allocator.buffer(capacity: 1 + (payload?.readableBytes ?? 0))
        buffer.writeInteger(number)
        if var payload { buffer.writeBuffer(&payload) }
        return writeAndFlush(WebSocketFrame(fin: true, opcode: .binary, data: buffer))
    }

    func sendClose(code: UInt16 = 1000) {
        var buffer = allocator.buffer(capacity: 2)
        buffer.writeInteger(code)
        writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: buffer)).whenComplete { _ in
            self.close(promise: nil)
        }
    }
}

/// Reads bytes from a pipe or socket channel and hands them on; reports the end once.
final class ByteForwarder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let onData: @Sendable (ByteBuffer) -> Void
    private let onEnd: @Sendable () -> Void
    private var ended = false

    init(onData: @escaping @Sendable (ByteBuffer) -> Void, onEnd: @escaping @Sendable () -> Void) {
        self.onData = onData
        self.onEnd = onEnd
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { onData(unwrapInboundIn(data)) }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { end() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        end()
        context.close(promise: nil)
    }

    private func end() {
        guard !ended else { return }
        ended = true
        onEnd()
    }
}

/// NIO channels over file descriptors that someone else handed us (exec pipes, dialed sockets).
enum DescriptorChannels {
    /// A close-on-exec duplicate: a plain dup() would leak into every process spawned meanwhile (a pod,
    /// another exec), and an exec's stdin would then never reach its end.
    static func duplicate(_ descriptor: Int32) -> Int32 {
        fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
    }

    /// Reads a descriptor (a duplicate is taken, so the caller's handle stays valid).
    static func reading(
        _ descriptor: Int32, on loop: EventLoop, onData: @escaping @Sendable (ByteBuffer) -> Void,
        onEnd: @escaping @Sendable () -> Void
    ) async throws -> Channel {
        try await NIOPipeBootstrap(group: loop)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteForwarder(onData: onData, onEnd: onEnd))
                }
            }
            .takingOwnershipOfDescriptor(input: duplicate(descriptor)).get()
    }

    /// Writes to a descriptor (a duplicate: closing the returned channel and the original ends the input).
    static func writing(_ descriptor: Int32, on loop: EventLoop) async throws -> Channel {
        try await NIOPipeBootstrap(group: loop).takingOwnershipOfDescriptor(output: duplicate(descriptor)).get()
    }

    /// A connected socket (ownership passes to the channel).
    static func socket(
        _ descriptor: Int32, on loop: EventLoop, onData: @escaping @Sendable (ByteBuffer) -> Void,
        onEnd: @escaping @Sendable () -> Void
    ) async throws -> Channel {
        try await ClientBootstrap(group: loop)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteForwarder(onData: onData, onEnd: onEnd))
                }
            }
            .withConnectedSocket(descriptor).get()
    }
}
