import Foundation
import Logging

/// How port-forward reaches the pod. `auto` chooses as kubectl 1.32 does: SPDY tunnelled in a WebSocket
/// (what 1.30+ API servers prefer), plain SPDY when that upgrade is refused (a 1.25 cluster), and
/// devloop's last resort, the v4 WebSocket protocol with one connection per forwarded TCP connection.
public enum PortForwardProtocol: String, Sendable, CaseIterable {
    case auto
    case spdyOverWebSocket
    case spdy
    case webSocket
}

/// Why an upgrade for port-forward was not made: `fallBack` when another protocol may work.
struct PortForwardUpgradeRefused: Error, CustomStringConvertible {
    var status: Int
    var detail: String
    /// Whether the refusal came with a Kubernetes Status: the API server's own answer, not a
    /// WebSocket library's handshake refusal.
    var fromAPIServer = false
    var description: String {
        "the port-forward upgrade was refused (HTTP \(status)): \(detail.isEmpty ? "no body" : detail)"
    }
    /// A missing pod or a forbidden request stays so for every protocol; anything else may be the
    /// protocol (an old API server, a proxy that does not pass WebSocket). A 1.25 kubelet refuses the
    /// `SPDY/3.1+portforward.k8s.io` subprotocol with a bare 403 (no Status), which kubectl also takes
    /// as "try plain SPDY"; RBAC's 403 carries a Status.
    var fallBack: Bool {
        switch status {
        case 401, 404: false
        case 403: !fromAPIServer
        default: true
        }
    }
}

extension KubeClient {
    static let tunnelledSPDYProtocol = "SPDY/3.1+portforward.k8s.io"

    /// Opens one upgraded SPDY connection to `pod`'s portforward subresource, tunnelled or plain.
    func spdyPortForward(namespace: String, pod: String, tunnelled: Bool, logger: Logger) async throws
        -> SPDYConnection
    {
        let path = "/api/v1/namespaces/\(namespace)/pods/\(pod)/portforward"
        var retried = false
        while true {
            let (tls, headers) = try await authenticated(contentType: nil)
            var upgradeHeaders = headers
            upgradeHeaders["Accept"] = nil
            let target = try url(path, [])
            let outcome = try await Self.upgradeSPDY(
                url: target, tls: tls, headers: upgradeHeaders, tunnelled: tunnelled, logger: logger)
            switch outcome {
            case .success(let connection):
                return connection
            case .failure(let refusal):
                if refusal.status == 401, !retried, await credentials.invalidate() {
                    retried = true
                    continue
                }
                throw refusal
            }
        }
    }

    private static func upgradeSPDY(
        url: URL, tls: TLSSettings, headers: [String: String], tunnelled: Bool, logger: Logger
    ) async throws -> Result<SPDYConnection, PortForwardUpgradeRefused> {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    let socket = try CurlSocket.connect(url: url, tls: tls, timeout: 10)
                    let leftover: Data
                    if tunnelled {
                        let handshake = WebSocketHandshake(
                            url: url, headers: headers, protocols: [tunnelledSPDYProtocol])
                        switch try handshake.perform(on: socket, timeout: 30) {
                        case .refused(let status, let body):
                            continuation.resume(returning: .failure(refusal(status, body)))
                            return
                        case .upgraded(let chosen, let rest):
                            guard chosen == tunnelledSPDYProtocol else {
                                continuation.resume(
                                    returning: .failure(
                                        PortForwardUpgradeRefused(
                                            status: 101, detail: "the server chose subprotocol \"\(chosen)\"")))
                                return
                            }
                            leftover = rest
                        }
                    } else {
                        let deadline = Date().addingTimeInterval(30)
                        try socket.writeAll(plainUpgradeRequest(url: url, headers: headers), deadline: deadline)
                        let (status, fields, rest) = try WebSocketHandshake.readResponse(on: socket, deadline: deadline)
                        guard status == 101, fields["upgrade"]?.lowercased() == "spdy/3.1" else {
                            let body = try WebSocketHandshake.readBody(fields, rest, socket, deadline)
                            continuation.resume(returning: .failure(refusal(status, body)))
                            return
                        }
                        leftover = rest
                    }
                    let connection = try SPDYConnection(
                        socket: socket, tunnelled: tunnelled, leftover: leftover, logger: logger)
                    connection.start()
                    continuation.resume(returning: .success(connection))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "devloop-spdy-upgrade"
            thread.start()
        }
    }

    static func refusal(_ status: Int, _ body: Data) -> PortForwardUpgradeRefused {
        let decoded = try? JSONValue.decode(body)
        return PortForwardUpgradeRefused(
            status: status,
            detail: decoded?["message"]?.string ?? String(decoding: body.prefix(512), as: UTF8.self),
            fromAPIServer: decoded?["kind"]?.string == "Status")
    }

    /// kubectl's plain SPDY request: a POST that asks to switch to SPDY/3.1 with the port-forward
    /// stream protocol.
    static func plainUpgradeRequest(url: URL, headers: [String: String]) -> Data {
        var lines =
            WebSocketHandshake.requestStart(method: "POST", url: url) + [
                "Connection: Upgrade", "Upgrade: SPDY/3.1",
                "X-Stream-Protocol-Version: portforward.k8s.io", "Content-Length: 0",
            ]
        lines += headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        return Data((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }
}
