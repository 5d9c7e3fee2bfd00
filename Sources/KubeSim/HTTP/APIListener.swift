import Foundation
import LockedValue
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// What a connection upgrades to, decided from the request before the 101 is sent.
struct UpgradePlan: Sendable {
    var subprotocol: String?
    var makeHandlers: @Sendable (Channel) async throws -> Void
}

/// Decides upgrades (WebSocket for exec and port-forward, plain SPDY for port-forward) and answers
/// every other request.
protocol APIResponder: Sendable {
    func respond(_ request: HTTPRequest) async -> HTTPResponse
    /// nil: no upgrade (the request is then answered by `respond`, with the reason).
    func planUpgrade(_ request: HTTPRequest, offered: [String], spdy: Bool) async -> UpgradePlan?
    func user(head: HTTPRequestHead, channel: Channel) async -> UserInfo?
}

/// The HTTPS listener on 127.0.0.1: TLS with optional client certificates, HTTP/1.1, upgrades.
final class APIListener: Sendable {
    private let serverChannel: Channel
    private let connections: Locked<[ObjectIdentifier: Channel]>
    let port: Int

    private init(serverChannel: Channel, connections: Locked<[ObjectIdentifier: Channel]>) {
        self.serverChannel = serverChannel
        self.connections = connections
        self.port = serverChannel.localAddress?.port ?? 0
    }

    static func tlsContext(certificates: Certificates) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certificates.serverCertificate.path).map {
            NIOSSLCertificateSource.certificate($0)
        }
        let key = try NIOSSLPrivateKey(file: certificates.serverKey.path, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(key))
        configuration.certificateVerification = .optionalVerification
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificates.caCertificate.path))
        configuration.applicationProtocols = ["http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }

    static func bind(
        port: Int, tls: NIOSSLContext, responder: APIResponder, streams: OpenStreams, recorder: RequestRecorder,
        group: EventLoopGroup
    ) async throws -> APIListener {
        let connections = Locked<[ObjectIdentifier: Channel]>([:])
        let plans = Locked<[ObjectIdentifier: UpgradePlan]>([:])
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                connections.withLock { $0[id] = channel }
                channel.closeFuture.whenComplete { _ in
                    connections.withLock { $0[id] = nil }
                    plans.withLock { $0[id] = nil }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    let upgraders = makeUpgraders(
                        responder: responder, plans: plans, streams: streams, recorder: recorder)
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withPipeliningAssistance: true,
                        withServerUpgrade: (
                            upgraders: upgraders,
                            completionHandler: { context in
                                context.pipeline.syncOperations.removeHandler(name: "kubesim-http", promise: nil)
                            }
                        ),
                        withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPRequestHandler(
                            responder: { head, body, channel in
                                recorder.record(head, body: body)
                                let user = await responder.user(head: head, channel: channel)
                                return await responder.respond(HTTPRequest(head: head, body: body, user: user))
                            }, streams: streams), name: "kubesim-http")
                }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: port).get()
        return APIListener(serverChannel: channel, connections: connections)
    }

    private static func makeUpgraders(
        responder: APIResponder, plans: Locked<[ObjectIdentifier: UpgradePlan]>, streams: OpenStreams,
        recorder: RequestRecorder
    ) -> [HTTPServerProtocolUpgrader] {
        @Sendable func plan(_ channel: Channel, _ head: HTTPRequestHead, spdy: Bool) -> EventLoopFuture<UpgradePlan?> {
            let promise = channel.eventLoop.makePromise(of: UpgradePlan?.self)
            promise.completeWithTask {
                let user = await responder.user(head: head, channel: channel)
                let offered = head.headers[canonicalForm: "sec-websocket-protocol"].map {
                    String($0).trimmingCharacters(in: .whitespaces)
                }
                let request = HTTPRequest(head: head, body: nil, user: user)
                let plan = await responder.planUpgrade(request, offered: offered, spdy: spdy)
                if plan != nil { recorder.record(head) }
                plans.withLock { $0[ObjectIdentifier(channel)] = plan }
                return plan
            }
            return promise.futureResult
        }
        @Sendable func install(_ channel: Channel) -> EventLoopFuture<Void> {
            guard let plan = plans.withLock({ $0.removeValue(forKey: ObjectIdentifier(channel)) }) else {
                return channel.close()
            }
            let id = streams.register(channel)
            channel.closeFuture.whenComplete { _ in streams.unregister(id) }
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.completeWithTask { try await plan.makeHandlers(channel) }
            return promise.futureResult
        }
        let webSocket = NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 20, automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                plan(channel, head, spdy: false).map { plan in
                    guard let plan else { return nil }
                    var headers = HTTPHeaders()
                    if let subprotocol = plan.subprotocol {
                        headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol)
                    }
                    return headers
                }
            },
            upgradePipelineHandler: { channel, _ in install(channel) })
        let spdy = SPDYUpgrader(
            plan: { channel, head in plan(channel, head, spdy: true) }, install: { channel in install(channel) })
        return [webSocket, spdy]
    }

    /// Closes the listening socket and every connection.
    func close() async {
        try? await serverChannel.close().get()
        for channel in connections.withLock({ Array($0.values) }) { try? await channel.close().get() }
    }
}

/// The plain `Upgrade: SPDY/3.1` handshake kubectl falls back to for port-forward.
struct SPDYUpgrader: HTTPServerProtocolUpgrader, Sendable {
    let supportedProtocol = "SPDY/3.1"
    let requiredUpgradeHeaders: [String] = []
    let plan: @Sendable (Channel, HTTPRequestHead) -> EventLoopFuture<UpgradePlan?>
    let install: @Sendable (Channel) -> EventLoopFuture<Void>

    func buildUpgradeResponse(channel: Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders)
        -> EventLoopFuture<HTTPHeaders>
    {
        plan(channel, upgradeRequest).flatMapThrowing { plan in
            guard let plan else { throw SPDYUpgradeRefused() }
            var headers = initialResponseHeaders
            if let subprotocol = plan.subprotocol { headers.add(name: "X-Stream-Protocol-Version", value: subprotocol) }
            return headers
        }
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        install(context.channel)
    }
}

struct SPDYUpgradeRefused: Error {}
