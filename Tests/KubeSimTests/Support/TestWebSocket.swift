import Foundation
import KubeSim
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// A WebSocket client for the k8s channel protocols (what devloop's client speaks), over TLS with the
/// cluster's CA and the bearer token.
final class TestWebSocket: Sendable {
    let channel: Channel
    let messages: AsyncStream<ByteBuffer>
    let subprotocol: String?

    private init(channel: Channel, messages: AsyncStream<ByteBuffer>, subprotocol: String?) {
        self.channel = channel
        self.messages = messages
        self.subprotocol = subprotocol
    }

    static func connect(_ server: KubeSimServer, path: String, protocols: [String]) async throws -> TestWebSocket {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(server.directory.appendingPathComponent("pki/ca.crt").path)
        tls.certificateVerification = .noHostnameVerification
        let context = try NIOSSLContext(configuration: tls)
        let (messages, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let upgraded = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: String?.self)
        let upgrader = NIOWebSocketClientUpgrader(maxFrameSize: 1 << 20) { channel, response in
            upgraded.succeed(response.headers.first(name: "Sec-WebSocket-Protocol"))
            return channel.eventLoop.makeCompletedFuture {
                channel.pipeline.syncOperations.removeHandler(name: "upgrade-failure", promise: nil)
                try channel.pipeline.syncOperations.addHandler(MessageCollector(continuation: continuation))
            }
        }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: nil))
                }.flatMap {
                    // Frames that arrive with the 101 in one read must reach the WebSocket decoder.
                    channel.pipeline.addHTTPClientHandlers(
                        leftOverBytesStrategy: .forwardBytes,
                        withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                }.flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(
                        UpgradeFailureHandler(promise: upgraded), name: "upgrade-failure")
                }
            }
            .connect(host: "127.0.0.1", port: server.port).get()
        var headers = HTTPHeaders([
            ("Host", "127.0.0.1:\(server.port)"), ("Authorization", "Bearer \(server.token)"), ("Content-Length", "0"),
        ])
        if !protocols.isEmpty { headers.add(name: "Sec-WebSocket-Protocol", value: protocols.joined(separator: ", ")) }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        // Head and end in one go: once the 101 arrives, the pipeline speaks WebSocket only.
        try await channel.eventLoop.submit {
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }.get()
        let chosen = try await upgraded.futureResult.get()
        return TestWebSocket(channel: channel, messages: messages, subprotocol: chosen)
    }

    func send(channel number: UInt8, _ bytes: [UInt8]) async throws {
        var buffer = channel.allocator.buffer(capacity: bytes.count + 1)
        buffer.writeInteger(number)
        buffer.writeBytes(bytes)
        let frame = WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: buffer)
        try await channel.writeAndFlush(frame)
    }

    /// Every message until the server closes, as (channel, payload).
    func collect() async -> [(UInt8, [UInt8])] {
        var result: [(UInt8, [UInt8])] = []
        for await var message in messages {
            guard let number = message.readInteger(as: UInt8.self) else { continue }
            result.append((number, message.readBytes(length: message.readableBytes) ?? []))
        }
        return result
    }
}

private final class MessageCollector: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    let continuation: AsyncStream<ByteBuffer>.Continuation
    init(continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .binary, .text: continuation.yield(frame.unmaskedData)
        case .connectionClose:
            continuation.finish()
            context.close(promise: nil)
        default: break
        }
    }

    func channelInactive(context: ChannelHandlerContext) { continuation.finish() }

    /// A short exec can finish, and the server close the connection, before the upgrade adds this
    /// handler: the channel's end then came and went, and `collect()` would wait for it for ever.
    func handlerAdded(context: ChannelHandlerContext) {
        if !context.channel.isActive { continuation.finish() }
    }
}

/// Fails the upgrade promise when the server answers with a plain HTTP response instead of 101.
private final class UpgradeFailureHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<String?>
    init(promise: EventLoopPromise<String?>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            promise.fail(TestFailure("no upgrade: HTTP \(head.status.code)"))
        }
    }

    /// A short exec can finish, and the server close, while the upgrade is still being set up: the
    /// upgrade's success (if any) wins the race.
    func channelInactive(context: ChannelHandlerContext) {
        let promise = self.promise
        context.eventLoop.scheduleTask(in: .seconds(1)) { promise.fail(TestFailure("connection closed")) }
    }
}
