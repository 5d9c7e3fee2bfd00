import Foundation
import NIOCore
import NIOEmbedded
import NIOPosix
import NIOWebSocket
import Testing

@testable import KubeSim

/// The handler on a test channel, as kubectl's side: frames in, frames out, pods' ports played by a
/// real TCP echo server on 127.0.0.1.
@Suite("SPDY port-forward handler")
struct SPDYPortForwardHandlerTests {
    /// The client's end: its own zlib stream per direction, like spdystream's.
    final class Client {
        let channel: NIOAsyncTestingChannel
        private let encoder = SPDYFrameEncoder()
        private let decoder = SPDYFrameDecoder()
        private var received = ByteBuffer()

        init(
            podName: String = "", uid: String = "", streamCreationTimeout: TimeAmount = .seconds(30),
            dial: @escaping SPDYPortForwardHandler.Dial
        ) async throws {
            channel = try await NIOAsyncTestingChannel { channel in
                try channel.pipeline.syncOperations.addHandler(
                    SPDYPortForwardHandler(
                        podName: podName, uid: uid, streamCreationTimeout: streamCreationTimeout, dial: dial))
            }
            try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1))
        }

        func send(_ frames: SPDYFrame...) async throws {
            var buffer = ByteBuffer()
            for frame in frames { encoder.encode(frame, into: &buffer) }
            try await channel.writeInbound(buffer)
        }

        func open(requestID: String, port: Int, error: UInt32, data: UInt32) async throws {
            try await send(
                .synStream(
                    streamID: error, associatedTo: 0, priority: 0, flags: 0,
                    headers: ["streamtype": "error", "port": "\(port)", "requestid": requestID]),
                .data(streamID: error, fin: true, payload: ByteBuffer()),
                .synStream(
                    streamID: data, associatedTo: 0, priority: 0, flags: 0,
                    headers: ["streamtype": "data", "port": "\(port)", "requestid": requestID]))
        }

        /// Frames the handler wrote, until `done` says enough (fails after 5 s).
        func receive(
            sourceLocation: SourceLocation = #_sourceLocation, until done: ([SPDYFrame]) -> Bool
        ) async throws -> [SPDYFrame] {
            var frames: [SPDYFrame] = []
            for _ in 0..<500 {
                while var chunk = try await channel.readOutbound(as: ByteBuffer.self) { received.writeBuffer(&chunk) }
                while let frame = try decoder.decode(&received) { frames.append(frame) }
                if done(frames) { return frames }
                try await Task.sleep(for: .milliseconds(10))
            }
            Issue.record("frames so far: \(frames)", sourceLocation: sourceLocation)
            throw FixtureError.timedOut("SPDY frames")
        }
    }

    private static func dataOn(_ stream: UInt32, _ frames: [SPDYFrame]) -> String {
        frames.reduce(into: "") { text, frame in
            if case .data(stream, _, let payload) = frame { text += String(buffer: payload) }
        }
    }

    private static func finished(_ stream: UInt32, _ frames: [SPDYFrame]) -> Bool {
        frames.contains { if case .data(stream, true, _) = $0 { true } else { false } }
    }

    @Test func pumpsBytesBothWaysAndHalfClosesOnFin() async throws {
        let echo = try await EchoServer.start()
        let client = try await Client { _ in try await hostConnect(echo.port) }
        try await client.open(requestID: "0", port: 5000, error: 1, data: 3)
        // Sent before the connection to the pod exists: kept until it does.
        try await client.send(.data(streamID: 3, fin: false, payload: ByteBuffer(string: "hello ")))
        let replies = try await client.receive { Self.dataOn(3, $0) == "hello " }
        #expect(
            replies.prefix(2) == [
                .synReply(streamID: 1, flags: 0, headers: [:]), .synReply(streamID: 3, flags: 0, headers: [:]),
            ])
        try await client.send(.data(streamID: 3, fin: true, payload: ByteBuffer(string: "world")))
        // The echo server answers, sees the end of input and closes: both streams end.
        let rest = try await client.receive { Self.finished(3, $0) && Self.finished(1, $0) }
        #expect(Self.dataOn(3, rest) == "world")
        #expect(Self.dataOn(1, rest) == "", "no error")
        try await client.channel.close()
        await echo.stop()
    }

    @Test func dialFailureIsWrittenOnTheErrorStream() async throws {
        let client = try await Client(podName: "web", uid: "u-1") { port in
            throw DialError(message: "failed to connect to localhost:\(port): connection refused")
        }
        try await client.open(requestID: "7", port: 5999, error: 5, data: 7)
        let frames = try await client.receive { Self.finished(5, $0) && Self.finished(7, $0) }
        #expect(
            Self.dataOn(5, frames)
                == "error forwarding port 5999 to pod web, uid u-1: failed to connect to localhost:5999: connection refused"
        )
        try await client.channel.close()
    }

    @Test func aLoneStreamTimesOutWithAnError() async throws {
        let client = try await Client(streamCreationTimeout: .milliseconds(50)) { _ in
            throw DialError(message: "unused")
        }
        try await client.send(
            .synStream(
                streamID: 1, associatedTo: 0, priority: 0, flags: 0,
                headers: ["streamtype": "error", "port": "5000", "requestid": "0"]))
        await client.channel.testingEventLoop.advanceTime(by: .milliseconds(60))
        let frames = try await client.receive { Self.finished(1, $0) }
        #expect(Self.dataOn(1, frames).hasSuffix("request=0) timed out waiting for streams"))
        try await client.channel.close()
    }

    @Test func pingIsAnsweredAndBadStreamsAreReset() async throws {
        let client = try await Client { _ in throw DialError(message: "unused") }
        try await client.send(.ping(id: 1), .settings(flags: 0, entries: [SPDYSetting(id: 7, value: 1)]))
        try await client.send(.windowUpdate(streamID: 1, delta: 10))
        try await client.send(.synStream(streamID: 1, associatedTo: 0, priority: 0, flags: 0, headers: ["port": "80"]))
        try await client.send(
            .synStream(
                streamID: 3, associatedTo: 0, priority: 0, flags: 0, headers: ["streamtype": "data", "port": "0"]))
        let frames = try await client.receive { $0.count >= 3 }
        #expect(
            frames == [
                .ping(id: 1), .rstStream(streamID: 1, status: SPDYStreamStatus.cancel),
                .rstStream(streamID: 3, status: SPDYStreamStatus.cancel),
            ])
        try await client.send(.goAway(lastGoodStreamID: 0, status: 0))
        try await client.channel.closeFuture.get()
    }

    @Test func resetStreamClosesThePodConnection() async throws {
        let echo = try await EchoServer.start()
        let client = try await Client { _ in try await hostConnect(echo.port) }
        try await client.open(requestID: "0", port: 5000, error: 1, data: 3)
        try await client.send(.data(streamID: 3, fin: false, payload: ByteBuffer(string: "ping")))
        _ = try await client.receive { Self.dataOn(3, $0) == "ping" }
        #expect(echo.openConnections == 1)
        try await client.send(.rstStream(streamID: 3, status: SPDYStreamStatus.cancel))
        for _ in 0..<200 where echo.openConnections > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(echo.openConnections == 0)
        try await client.channel.close()
        await echo.stop()
    }

    @Test func garbageEndsTheSessionWithAProtocolError() async throws {
        let client = try await Client { _ in throw DialError(message: "unused") }
        try await client.channel.writeInbound(ByteBuffer(bytes: [0x80, 0x02, 0, 1, 0, 0, 0, 0]))
        let frames = try await client.receive { !$0.isEmpty }
        #expect(frames == [.goAway(lastGoodStreamID: 0, status: SPDYSessionStatus.protocolError)])
        try await client.channel.closeFuture.get()
    }

    @Test func webSocketMessagesCarryTheByteStream() async throws {
        let channel = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandler(WebSocketByteStreamHandler())
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1))
        // Masked, as a client sends them; message boundaries mean nothing.
        let mask: WebSocketMaskingKey = [1, 2, 3, 4]
        var first = ByteBuffer(string: "80 03")
        first.webSocketMask(mask)
        try await channel.writeInbound(WebSocketFrame(fin: true, opcode: .binary, maskKey: mask, data: first))
        #expect(try await channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "80 03"))
        try await channel.writeOutbound(ByteBuffer(string: "reply"))
        let reply = try #require(try await channel.readOutbound(as: WebSocketFrame.self))
        #expect(
            reply.opcode == .binary && reply.fin && reply.maskKey == nil && reply.data == ByteBuffer(string: "reply"))
        try await channel.writeInbound(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "p")))
        let pong = try #require(try await channel.readOutbound(as: WebSocketFrame.self))
        #expect(pong.opcode == .pong && pong.data == ByteBuffer(string: "p"))
        // A text message is not part of the tunnel: close 1003, as TunnelingConnection refuses it too.
        try await channel.writeInbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "hi")))
        var close = try #require(try await channel.readOutbound(as: WebSocketFrame.self)).data
        #expect(close.readWebSocketErrorCode() == .unacceptableData)
        try await channel.closeFuture.get()
    }
}

/// A TCP echo server on 127.0.0.1 that closes a connection once its input ends.
final class EchoServer: Sendable {
    private let channel: any Channel
    private let connections: CollectedText
    var port: Int { channel.localAddress!.port! }
    var openConnections: Int {
        connections.text.filter { $0 == "+" }.count - connections.text.filter { $0 == "-" }.count
    }

    private init(channel: any Channel, connections: CollectedText) {
        self.channel = channel
        self.connections = connections
    }

    static func start() async throws -> EchoServer {
        let connections = CollectedText()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(EchoHandler(connections: connections))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return EchoServer(channel: channel, connections: connections)
    }

    func stop() async {
        try? await channel.close()
    }

    private final class EchoHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let connections: CollectedText

        init(connections: CollectedText) {
            self.connections = connections
        }

        func channelActive(context: ChannelHandlerContext) {
            connections.append("+")
        }

        func channelInactive(context: ChannelHandlerContext) {
            connections.append("-")
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(data, promise: nil)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed = event { context.close(promise: nil) }
        }
    }
}
