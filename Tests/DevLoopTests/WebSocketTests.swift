import DevLoop
import Foundation
import LockedValue
import NIOCore
import NIOWebSocket
import Testing

/// Our hand-written WebSocket client against swift-nio's WebSocket server: masking, fragmentation,
/// control frames between fragments, 16- and 64-bit lengths, ping/pong and the closing handshake.
@Suite struct WebSocketTests {
    final class Script: TestWebSocketBehavior, @unchecked Sendable {
        let pongs = Locked<[String]>([])
        let received = Locked<[Int]>([])

        func opened(_ socket: TestWebSocket) {
            socket.send(Data("p1".utf8), opcode: .ping)
            socket.send(Data("ab".utf8), opcode: .binary, fin: false)
            socket.send(Data("p2".utf8), opcode: .ping)
            socket.send(Data("cd".utf8), opcode: .continuation, fin: false)
            socket.send(Data("ef".utf8), opcode: .continuation, fin: true)
            socket.send(Data(repeating: 7, count: 70_000))
            socket.send(Data("hi".utf8), opcode: .text)
        }

        func received(_ frame: WebSocketFrame, data: Data, socket: TestWebSocket) {
            MaskCheck.record(frame)
            switch frame.opcode {
            case .pong: pongs.withLock { $0.append(String(decoding: data, as: UTF8.self)) }
            case .binary:
                received.withLock { $0.append(data.count) }
                socket.send(Data("got \(data.count)".utf8))
            case .connectionClose: socket.close()
            default: break
            }
        }
    }

    @Test func framesRoundTripWithNIO() async throws {
        let pki = try await TestCertificates.make()
        let folder = try TemporaryDirectory()
        let script = Script()
        let server = try await TestHTTPSServer(
            certificates: pki, webSocket: { _ in TestWebSocketRoute(subprotocol: "test.v1", behavior: script) },
            handler: { _ in .json("{}") })
        let client = try KubeConfigFixture(
            server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"], in: folder
        )
        .client()
        let connection = try await client.webSocket("/ws", query: [("x", "a b+c")], protocols: ["test.v2", "test.v1"])
        #expect(connection.subprotocol == "test.v1")
        var messages = connection.messages.makeAsyncIterator()
        #expect(try await messages.next() == Data("abcdef".utf8))
        #expect(try await messages.next() == Data(repeating: 7, count: 70_000))
        #expect(try await messages.next() == Data("hi".utf8))
        for size in [0, 125, 126, 65_535, 65_536, 300_000] {
            try await connection.send(Data(repeating: 1, count: size))
            #expect(try await messages.next() == Data("got \(size)".utf8))
        }
        connection.close()
        #expect(try await messages.next() == nil)
        #expect(script.pongs.current == ["p1", "p2"])
        #expect(script.received.current == [0, 125, 126, 65_535, 65_536, 300_000])
        #expect(MaskCheck.unmaskedFrames == 0)
        await server.stop()
        pki.remove()
        folder.remove()
    }
}
