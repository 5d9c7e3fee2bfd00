import NIOCore
import NIOPosix

/// A TCP server on 127.0.0.1 that answers every chunk upper-cased (stands in for a pod's server).
final class UppercaseServer: Sendable {
    let channel: Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: Channel) { self.channel = channel }

    static func start() async throws -> UppercaseServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Upper()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return UppercaseServer(channel: channel)
    }

    func stop() async throws { try await channel.close() }

    private final class Upper: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let text = buffer.readString(length: buffer.readableBytes) ?? ""
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text.uppercased())), promise: nil)
        }
    }
}
