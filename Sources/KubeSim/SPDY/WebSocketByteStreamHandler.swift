import NIOCore
import NIOWebSocket

/// Turns a WebSocket connection into a byte stream, as client-go's TunnelingConnection does on
/// kubectl's side of `SPDY/3.1+portforward.k8s.io`: every binary message carries the next bytes of the
/// tunneled stream (message boundaries mean nothing), each write goes out as one binary message, a
/// normal close is the end of the stream. Place it right after NIO's WebSocket frame codec.
public final class WebSocketByteStreamHandler: ChannelDuplexHandler {
    public typealias InboundIn = WebSocketFrame
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = WebSocketFrame

    private var closeSent = false

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .binary, .continuation:
            let payload = frame.unmaskedData
            if payload.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(payload)) }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            // Echo the close (RFC 6455 5.5.1), then hang up.
            var payload = frame.unmaskedData
            let code = payload.readWebSocketErrorCode() ?? .normalClosure
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            sendClose(code, context: context).whenComplete { _ in bound.value.close(promise: nil) }
        case .text:
            // TunnelingConnection fails on anything but binary messages; so does this end.
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            sendClose(.unacceptableData, context: context).whenComplete { _ in bound.value.close(promise: nil) }
        default:
            break
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = WebSocketFrame(fin: true, opcode: .binary, data: unwrapOutboundIn(data))
        context.write(wrapOutboundOut(frame), promise: promise)
    }

    /// A full close from the handlers behind this one first says goodbye with a normal close frame.
    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, !closeSent, context.channel.isActive else {
            context.close(mode: mode, promise: promise)
            return
        }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        sendClose(.normalClosure, context: context).whenComplete { _ in bound.value.close(mode: mode, promise: promise)
        }
    }

    private func sendClose(_ code: WebSocketErrorCode, context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        guard !closeSent else { return context.eventLoop.makeSucceededVoidFuture() }
        closeSent = true
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.write(webSocketErrorCode: code)
        return context.writeAndFlush(
            wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)))
    }
}
