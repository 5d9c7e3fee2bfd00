import DevLoop
import Foundation
import NIOCore
import NIOWebSocket
import Testing

/// Once the exit status has arrived, the way the connection ends does not matter: a reset (a proxy
/// closing abruptly) must not turn a finished command into an error.
@Suite struct ExecEndTests {
    /// Sends stdout and a Success status, then resets the TCP connection (SO_LINGER 0) without a close frame.
    final class StatusThenReset: TestWebSocketBehavior, @unchecked Sendable {
        func opened(_ socket: TestWebSocket) {
            socket.send(Data([1]) + Data("done\n".utf8))
            socket.send(Data([3]) + Data(#"{"metadata":{},"status":"Success"}"#.utf8))
            let channel = socket.channel
            channel.eventLoop.scheduleTask(in: .milliseconds(200)) {
                guard let options = channel as? any SocketOptionProvider else {
                    channel.close(promise: nil)
                    return
                }
                options.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
            }
        }

        func received(_ frame: WebSocketFrame, data: Data, socket: TestWebSocket) {}
    }

    /// What a kubelet reports when the command's executable is missing from the image.
    final class NoShell: TestWebSocketBehavior, @unchecked Sendable {
        func opened(_ socket: TestWebSocket) {
            let message =
                #"OCI runtime exec failed: exec failed: unable to start container process: exec: \"sh\": executable file not found in $PATH: unknown"#
            socket.send(Data([3]) + Data(#"{"metadata":{},"status":"Failure","message":"\#(message)"}"#.utf8))
            socket.close()
        }

        func received(_ frame: WebSocketFrame, data: Data, socket: TestWebSocket) {}
    }

    @Test func aV4ExecWithStdinInADistrolessImageSaysWhyShIsNeeded() async throws {
        let server = try await TestHTTPSServer(
            certificates: nil,
            webSocket: { _ in TestWebSocketRoute(subprotocol: "v4.channel.k8s.io", behavior: NoShell()) },
            handler: { _ in .status(404, reason: "NotFound", message: "not found") })
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let client = try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
        let error = await #expect(throws: KubeClientError.self) {
            try await PodExec(client: client).run(
                ExecRequest(namespace: "dev", pod: "web", command: ["tar", "-x"], stdin: Data("x".utf8)))
        }
        await server.stop()
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains(#"exec: "sh": executable file not found"#), "\(message)")
        #expect(message.contains("needs sh, head and cat") && message.contains("distroless"), "\(message)")
    }

    @Test func aResetAfterTheExitStatusKeepsTheResult() async throws {
        let server = try await TestHTTPSServer(
            certificates: nil,
            webSocket: { _ in TestWebSocketRoute(subprotocol: "v4.channel.k8s.io", behavior: StatusThenReset()) },
            handler: { _ in .status(404, reason: "NotFound", message: "not found") })
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        do {
            let client = try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
            let result = try await PodExec(client: client).run(
                ExecRequest(namespace: "dev", pod: "web", command: ["true"], protocols: [.v4]))
            #expect(result.exitCode == 0)
            #expect(String(decoding: result.stdout, as: UTF8.self) == "done\n")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
