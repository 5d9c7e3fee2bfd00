import Foundation
import KubeSim
import NIOCore
import NIOPosix
import NIOSSL
import NIOWebSocket

/// A WebSocket client for the k8s channel protocols (what devloop's client speaks), over TLS with the
/// cluster's CA and the bearer token.
///
/// Every handler is in the pipeline before the first byte arrives, and none is ever added or removed:
/// a short exec's frames, its close and the connection's end can come in the same read as the 101.
/// (NIO's client upgrade removes the HTTP decoder on a later event-loop turn, and a decoder that saw
/// the end of the connection by then drops the bytes it held: the frames were lost.)
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
        let request = upgradeRequest(
            host: "127.0.0.1:\(server.port)", path: path, token: server.token, protocols: protocols)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: nil))
                    try addHandlers(
                        to: channel.pipeline.syncOperations, request: request, upgraded: upgraded,
                        messages: continuation)
                }
            }
            .connect(host: "127.0.0.1", port: server.port).get()
        let chosen = try await upgraded.futureResult.get()
        return TestWebSocket(channel: channel, messages: messages, subprotocol: chosen)
    }

    /// The upgrade request: it is written when the connection becomes active.
    static func upgradeRequest(host: String, path: String, token: String, protocols: [String]) -> String {
        var lines = [
            "GET \(path) HTTP/1.1", "Host: \(host)", "Authorization: Bearer \(token)", "Connection: Upgrade",
            "Upgrade: websocket", "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Key: \(Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())",
        ]
        if !protocols.isEmpty { lines.append("Sec-WebSocket-Protocol: \(protocols.joined(separator: ", "))") }
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// The client's handlers after TLS: the 101's reader, then the WebSocket codec and the collector.
    static func addHandlers(
        to pipeline: ChannelPipeline.SynchronousOperations, request: String, upgraded: EventLoopPromise<String?>,
        messages: AsyncStream<ByteBuffer>.Continuation
    ) throws {
        try pipeline.addHandler(UpgradeResponseReader(request: request, promise: upgraded))
        try pipeline.addHandler(WebSocketFrameEncoder())
        try pipeline.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        try pipeline.addHandler(MessageCollector(continuation: messages))
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
        await Self.collect(messages)
    }

    static func collect(_ messages: AsyncStream<ByteBuffer>) async -> [(UInt8, [UInt8])] {
        var result: [(UInt8, [UInt8])] = []
        for await var message in messages {
            guard let number = message.readInteger(as: UInt8.self) else { continue }
            result.append((number, message.readBytes(length: message.readableBytes) ?? []))
        }
        return result
    }
}

/// Sends the upgrade request, reads the response head up to its blank line, and from then on hands
/// every byte on unchanged (it stays in the pipeline: nothing is removed, so nothing can be dropped).
private final class UpgradeResponseReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let headLimit = 64 * 1024
    private let request: String
    private let promise: EventLoopPromise<String?>
    private var head: ByteBuffer?
    private var upgraded = false
    private var decided = false

    init(request: String, promise: EventLoopPromise<String?>) {
        self.request = request
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if upgraded {
            context.fireChannelRead(wrapInboundOut(bytes))
            return
        }
        guard !decided else { return }
        head.setOrWriteBuffer(&bytes)
        guard var received = head else { return }
        let view = received.readableBytesView
        guard let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else {
            if received.readableBytes > Self.headLimit { decide(context, .failure(TestFailure("no end of the 101"))) }
            return
        }
        let text = received.readString(length: end.upperBound - view.startIndex) ?? ""
        head = nil
        let lines = text.components(separatedBy: "\r\n")
        let status = lines.first?.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        guard status == 101 else {
            decide(context, .failure(TestFailure("no upgrade: HTTP \(status.map(String.init) ?? lines.first ?? "")")))
            return
        }
        let subprotocol = lines.dropFirst().first { $0.lowercased().hasPrefix("sec-websocket-protocol:") }.map {
            String($0.drop { $0 != ":" }.dropFirst()).trimmingCharacters(in: .whitespaces)
        }
        upgraded = true
        decide(context, .success(subprotocol))
        if received.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(received)) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !decided { promise.fail(TestFailure("connection closed before the 101")) }
        decided = true
        context.fireChannelInactive()
    }

    private func decide(_ context: ChannelHandlerContext, _ result: Result<String?, any Error>) {
        decided = true
        promise.completeWith(result)
        if case .failure = result { context.close(promise: nil) }
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

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        continuation.finish()
        context.close(promise: nil)
    }
}
