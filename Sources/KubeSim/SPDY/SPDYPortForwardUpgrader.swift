import Foundation
import NIOCore
import NIOHTTP1

/// The plain SPDY upgrade kubectl falls back to when the WebSocket tunnel is refused
/// (`POST …/portforward`, `Upgrade: SPDY/3.1`, `X-Stream-Protocol-Version: portforward.k8s.io`), for
/// NIO's `HTTPServerUpgradeHandler`: it answers 101 with the protocol kubelet selects and puts a
/// `SPDYPortForwardHandler` on the channel. `handler` returns nil to refuse the request.
public struct SPDYPortForwardUpgrader: HTTPServerProtocolUpgrader, Sendable {
    public static let streamProtocol = "portforward.k8s.io"

    public let supportedProtocol = "SPDY/3.1"
    public let requiredUpgradeHeaders: [String] = []
    private let handler: @Sendable (HTTPRequestHead) -> SPDYPortForwardHandler.Dial?
    private let podName: @Sendable (HTTPRequestHead) -> (name: String, uid: String)

    /// `dial` gives the dial function for the pod a request names, or nil to refuse it (it is asked when
    /// the response is built and again at the upgrade); `pod` names the pod in error messages.
    public init(
        pod: @escaping @Sendable (HTTPRequestHead) -> (name: String, uid: String) = { _ in ("", "") },
        dial: @escaping @Sendable (HTTPRequestHead) -> SPDYPortForwardHandler.Dial?
    ) {
        self.podName = pod
        self.handler = dial
    }

    public func buildUpgradeResponse(
        channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        let offered = upgradeRequest.headers["X-Stream-Protocol-Version"].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard offered.isEmpty || offered.contains(Self.streamProtocol), handler(upgradeRequest) != nil else {
            return channel.eventLoop.makeFailedFuture(SPDYProtocolError("no port-forward for \(upgradeRequest.uri)"))
        }
        var headers = initialResponseHeaders
        headers.replaceOrAdd(name: "X-Stream-Protocol-Version", value: Self.streamProtocol)
        return channel.eventLoop.makeSucceededFuture(headers)
    }

    public func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        guard let dial = handler(upgradeRequest) else {
            return context.eventLoop.makeFailedFuture(SPDYProtocolError("no port-forward for \(upgradeRequest.uri)"))
        }
        let pod = podName(upgradeRequest)
        return context.eventLoop.makeCompletedFuture {
            try context.pipeline.syncOperations.addHandler(
                SPDYPortForwardHandler(podName: pod.name, uid: pod.uid, dial: dial))
        }
    }
}
