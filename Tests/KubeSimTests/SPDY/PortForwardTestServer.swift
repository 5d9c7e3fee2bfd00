import Foundation
import KubeSim
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Just enough of an API server, over plain HTTP on 127.0.0.1, for `kubectl port-forward pod/NAME`:
/// discovery, GET of the pod, and its portforward subresource through the SPDY-in-WebSocket tunnel
/// (unless `tunnel` is false, which makes kubectl fall back to a plain SPDY upgrade).
final class PortForwardTestServer: Sendable {
    static let tunnelProtocol = "SPDY/3.1+portforward.k8s.io"

    let channel: any Channel
    /// "websocket" or "spdy", for each upgrade to port-forward.
    let upgrades: CollectedText
    var port: Int { channel.localAddress!.port! }

    private init(channel: any Channel, upgrades: CollectedText) {
        self.channel = channel
        self.upgrades = upgrades
    }

    static func start(
        podName: String, uid: String, tunnel: Bool, dial: @escaping SPDYPortForwardHandler.Dial
    ) async throws -> PortForwardTestServer {
        let upgrades = CollectedText()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let api = FakeAPIHandler(podName: podName, uid: uid)
                let webSocket = NIOWebSocketServerUpgrader(
                    maxFrameSize: 1 << 24, automaticErrorHandling: true,
                    shouldUpgrade: { channel, head in
                        let offered = head.headers["Sec-WebSocket-Protocol"].flatMap { $0.split(separator: ",") }
                            .map { $0.trimmingCharacters(in: .whitespaces) }
                        guard tunnel, head.uri.contains("/portforward"), offered.contains(tunnelProtocol) else {
                            return channel.eventLoop.makeSucceededFuture(nil)
                        }
                        return channel.eventLoop.makeSucceededFuture(
                            HTTPHeaders([("Sec-WebSocket-Protocol", tunnelProtocol)]))
                    },
                    upgradePipelineHandler: { channel, _ in
                        upgrades.append("websocket ")
                        return channel.eventLoop.makeFutureWithTask {
                            try await SPDYPortForwardHandler.installTunneled(
                                on: channel, podName: podName, uid: uid, dial: dial)
                        }
                    })
                let spdy = SPDYPortForwardUpgrader(pod: { _ in (podName, uid) }) { head in
                    guard head.uri.contains("/pods/\(podName)/portforward") else { return nil }
                    upgrades.append("spdy ")
                    return dial
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(
                        withServerUpgrade: (
                            upgraders: [webSocket, spdy],
                            completionHandler: { context in context.pipeline.removeHandler(name: "api", promise: nil) }
                        ))
                    try sync.addHandler(api, name: "api")
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return PortForwardTestServer(channel: channel, upgrades: upgrades)
    }

    func stop() async {
        try? await channel.close()
    }

    /// A kubeconfig for this server in `folder`.
    func kubeconfig(in folder: URL) throws -> String {
        let path = folder.appendingPathComponent("kubeconfig").path
        let text = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: test
              cluster:
                server: http://127.0.0.1:\(port)
            contexts:
            - name: test
              context: {cluster: test, user: test, namespace: default}
            current-context: test
            users:
            - name: test
              user: {}

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// Discovery and the pod, as JSON; a 400 for what it does not serve (a refused upgrade included).
private final class FakeAPIHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let podName: String
    private let uid: String
    private var head: HTTPRequestHead?

    init(podName: String, uid: String) {
        self.podName = podName
        self.uid = uid
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            let (status, body) = respond(to: head)
            var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(body.utf8.count)")])
            headers.add(name: "Connection", value: "keep-alive")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil)
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    private func respond(to head: HTTPRequestHead) -> (HTTPResponseStatus, String) {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        switch path {
        case "/api":
            return (.ok, #"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}"#)
        case "/apis":
            return (.ok, #"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#)
        case "/api/v1":
            return (
                .ok,
                #"{"kind":"APIResourceList","groupVersion":"v1","resources":["#
                    + #"{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"],"shortNames":["po"]},"#
                    + #"{"name":"pods/portforward","singularName":"","namespaced":true,"kind":"PodPortForwardOptions","verbs":["create","get"]}]}"#
            )
        case "/api/v1/namespaces/default/pods/\(podName)":
            return (
                .ok,
                #"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"\#(podName)","namespace":"default","uid":"\#(uid)"},"#
                    + #""spec":{"containers":[{"name":"web","image":"none","ports":[{"containerPort":5000}]}]},"#
                    + #""status":{"phase":"Running"}}"#
            )
        default:
            return (
                .badRequest,
                #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"not served: \#(path)","reason":"BadRequest","code":400}"#
            )
        }
    }
}
