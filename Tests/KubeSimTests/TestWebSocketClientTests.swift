import NIOCore
import NIOEmbedded
import Testing

/// The tests' WebSocket client itself: it must not lose what a short exec sends (issue 8).
@Suite struct TestWebSocketClientTests {
    /// Under load a short exec's 101, its output, its status, its close and the connection's end all
    /// arrive before the event loop turns again: every message must still be delivered.
    @Test func framesThatComeWithThe101AndTheEndAreKept() async throws {
        let channel = EmbeddedChannel()
        let (messages, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let upgraded = channel.eventLoop.makePromise(of: String?.self)
        let request = TestWebSocket.upgradeRequest(
            host: "127.0.0.1:1", path: "/exec", token: "t", protocols: ["v4.channel.k8s.io"])
        try TestWebSocket.addHandlers(
            to: channel.pipeline.syncOperations, request: request, upgraded: upgraded, messages: continuation)
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        let sent = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(String(buffer: sent).hasPrefix("GET /exec HTTP/1.1\r\n"))

        var answer = channel.allocator.buffer(
            string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n")
        for (number, payload) in [(UInt8(1), "out\n"), (2, "err\n"), (3, "{\"status\":\"Success\"}")] {
            answer.writeBytes([0x82, UInt8(payload.utf8.count + 1), number] + Array(payload.utf8))
        }
        answer.writeBytes([0x88, 0x02, 0x03, 0xE8])
        // Both events before any task the handlers queued has run.
        channel.pipeline.fireChannelRead(NIOAny(answer))
        channel.pipeline.fireChannelInactive()
        channel.embeddedEventLoop.run()

        #expect(try await upgraded.futureResult.get() == "v4.channel.k8s.io")
        let received = await TestWebSocket.collect(messages)
        #expect(received.map(\.0) == [1, 2, 3])
        #expect(received.first.map { String(decoding: $0.1, as: UTF8.self) } == "out\n")
    }

    @Test func aPlainAnswerFailsTheUpgrade() async throws {
        let channel = EmbeddedChannel()
        let (messages, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let upgraded = channel.eventLoop.makePromise(of: String?.self)
        try TestWebSocket.addHandlers(
            to: channel.pipeline.syncOperations,
            request: TestWebSocket.upgradeRequest(host: "h", path: "/", token: "t", protocols: []),
            upgraded: upgraded, messages: continuation)
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        try channel.writeInbound(
            channel.allocator.buffer(string: "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
        await #expect(throws: TestFailure.self) { try await upgraded.futureResult.get() }
        #expect(await TestWebSocket.collect(messages).isEmpty)
    }
}
