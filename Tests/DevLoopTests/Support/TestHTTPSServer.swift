import Foundation
import LockedValue
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

struct TestRequest: Sendable {
    var method: String
    var uri: String
    var headers: [String: String]
    var body: Data

    var path: String { String(uri.split(separator: "?").first ?? "") }
    var query: [(String, String)] {
        guard let text = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return [] }
        return text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).removingPercentEncoding ?? String($0)
            }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
    }
    func values(_ name: String) -> [String] { query.filter { $0.0 == name }.map(\.1) }
}

struct TestResponse: Sendable {
    var status: Int = 200
    var headers: [String: String] = ["Content-Type": "application/json"]
    var chunks: [Data] = []
    /// Close the connection after the chunks without ending the body: a cut stream.
    var cut = false

    static func json(_ text: String, status: Int = 200) -> TestResponse {
        TestResponse(status: status, chunks: [Data(text.utf8)])
    }

    static func status(_ code: Int, reason: String, message: String) -> TestResponse {
        .json(
            #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"\#(message)","reason":"\#(reason)","code":\#(code)}"#,
            status: code)
    }
}

/// What a test WebSocket endpoint does once upgraded.
protocol TestWebSocketBehavior: Sendable {
    func opened(_ socket: TestWebSocket)
    func received(_ frame: WebSocketFrame, data: Data, socket: TestWebSocket)
}

struct TestWebSocketRoute: Sendable {
    var subprotocol: String?
    var behavior: any TestWebSocketBehavior
}

/// The server side of an upgraded test connection.
struct TestWebSocket: Sendable {
    let channel: Channel
    let request: TestRequest

    func send(_ data: Data, opcode: WebSocketOpcode = .binary, fin: Bool = true) {
        let frame = WebSocketFrame(fin: fin, opcode: opcode, data: ByteBuffer(bytes: data))
        channel.writeAndFlush(frame, promise: nil)
    }

    func close() {
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer(bytes: [0x03, 0xE8]))
        // The promise is made on the event loop: a fake pod's thread may close after the server stopped,
        // and a promise made for a loop already shut down is never completed (NIO traps on the leak).
        channel.eventLoop.execute { channel.writeAndFlush(frame).whenComplete { _ in channel.close(promise: nil) } }
    }
}

/// An HTTP(S) server on 127.0.0.1 for client tests: a closure answers each request; optional TLS with
/// an optional required client certificate; optional WebSocket routes.
final class TestHTTPSServer: Sendable {
    let port: Int
    /// TCP connections accepted so far: shows whether clients keep connections alive.
    let connections = Locked(0)
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel

    init(
        certificates: TestCertificates?, requireClientCertificate: Bool = false,
        webSocket: (@Sendable (TestRequest) -> TestWebSocketRoute?)? = nil,
        handler: @escaping @Sendable (TestRequest) -> TestResponse
    ) async throws {
        var sslContext: NIOSSLContext?
        if let certificates {
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificates.serverCert.path).map {
                    .certificate($0)
                },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.serverKey.path, format: .pem)))
            if requireClientCertificate {
                tls.certificateVerification = .noHostnameVerification
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificates.caCert.path))
            }
            sslContext = try NIOSSLContext(configuration: tls)
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let context = sslContext
        let accepted = connections
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                accepted.withLock { $0 += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    let http = TestHTTPHandler(handler: handler)
                    var upgrade: NIOHTTPServerUpgradeConfiguration?
                    if let webSocket {
                        let upgrader = NIOWebSocketServerUpgrader(
                            maxFrameSize: 1 << 24, automaticErrorHandling: false,
                            shouldUpgrade: { channel, head in
                                guard let route = webSocket(TestRequest(head: head)) else {
                                    return channel.eventLoop.makeSucceededFuture(nil)
                                }
                                var headers = HTTPHeaders()
                                if let chosen = route.subprotocol {
                                    headers.add(name: "Sec-WebSocket-Protocol", value: chosen)
                                }
                                return channel.eventLoop.makeSucceededFuture(headers)
                            },
                            upgradePipelineHandler: { channel, head in
                                let request = TestRequest(head: head)
                                guard let route = webSocket(request) else {
                                    return channel.eventLoop.makeSucceededVoidFuture()
                                }
                                // The plain HTTP handler must go before any frame arrives.
                                let done = channel.pipeline.removeHandler(name: "test-http").recover { _ in }
                                    .flatMapThrowing {
                                        try channel.pipeline.syncOperations.addHandler(
                                            TestWebSocketHandler(behavior: route.behavior, request: request))
                                    }
                                return done
                            })
                        upgrade = (
                            upgraders: [upgrader],
                            completionHandler: { context in
                                context.pipeline.removeHandler(name: "test-http", promise: nil)
                            }
                        )
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withServerUpgrade: upgrade)
                    try channel.pipeline.syncOperations.addHandler(http, name: "test-http")
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    var url: String { "https://127.0.0.1:\(port)" }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

extension TestRequest {
    init(head: HTTPRequestHead) {
        method = head.method.rawValue
        uri = head.uri
        headers = Dictionary(head.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        body = Data()
    }
}

private final class TestHTTPHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let handler: @Sendable (TestRequest) -> TestResponse
    private var request: TestRequest?

    init(handler: @escaping @Sendable (TestRequest) -> TestResponse) {
        self.handler = handler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = TestRequest(head: head)
        case .body(var buffer):
            request?.body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .end:
            guard let request else { return }
            self.request = nil
            let response = handler(request)
            var headers = HTTPHeaders(response.headers.map { ($0.key, $0.value) })
            if !response.cut {
                headers.add(name: "Content-Length", value: String(response.chunks.reduce(0) { $0 + $1.count }))
            }
            let head = HTTPResponseHead(
                version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            for chunk in response.chunks {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: chunk)))), promise: nil)
            }
            if response.cut {
                context.flush()
                context.close(promise: nil)
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

private final class TestWebSocketHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    private let behavior: any TestWebSocketBehavior
    private let request: TestRequest

    init(behavior: any TestWebSocketBehavior, request: TestRequest) {
        self.behavior = behavior
        self.request = request
    }

    func handlerAdded(context: ChannelHandlerContext) {
        behavior.opened(TestWebSocket(channel: context.channel, request: request))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        var payload = frame.unmaskedData
        let bytes = Data(payload.readBytes(length: payload.readableBytes) ?? [])
        behavior.received(frame, data: bytes, socket: TestWebSocket(channel: context.channel, request: request))
    }
}
