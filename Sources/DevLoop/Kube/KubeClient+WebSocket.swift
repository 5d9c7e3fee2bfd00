import Foundation

extension KubeClient {
    /// Opens a WebSocket stream (exec, port-forward) offering `protocols`; a refused upgrade becomes the
    /// server's Status in words, and a 401 gets one retry with fresh credentials.
    public func webSocket(
        _ path: String, query: [(String, String)], protocols: [String], handler: (@Sendable (Data) -> Void)? = nil,
        readGate: (@Sendable () -> Bool)? = nil
    ) async throws
        -> WebSocketConnection
    {
        var retried = false
        while true {
            let (tls, headers) = try await authenticated(contentType: nil)
            var upgradeHeaders = headers
            upgradeHeaders["Accept"] = nil
            let outcome = try await WebSocketConnection.connect(
                url: try url(path, query), tls: tls, headers: upgradeHeaders, protocols: protocols, handler: handler,
                readGate: readGate)
            switch outcome {
            case .success(let connection):
                return connection
            case .failure(let refusal):
                if refusal.status == 401, !retried, await credentials.invalidate() {
                    retried = true
                    continue
                }
                if refusal.status == 403, !APIStatusError.isRBACDenial(refusal.body) {
                    // A 1.25 kubelet answers a subprotocol it does not know with a bare 403: no
                    // Status, so no RBAC decision; saying "ask an admin" would send the user astray.
                    throw KubeClientError.upgradeRefused(
                        status: 403,
                        detail: "no Kubernetes Status came with it, so this is not an RBAC denial: the API server "
                            + "or the node's kubelet refused the stream protocol (offered: "
                            + "\(protocols.joined(separator: ", ")))"
                            + (refusal.body.isEmpty ? "" : "; it said: \(APIStatusError.summary(of: refusal.body))"))
                }
                if refusal.status >= 400 {
                    throw KubeClientError.api(
                        APIStatusError(code: refusal.status, body: refusal.body, method: "GET", path: path))
                }
                throw KubeClientError.upgradeRefused(
                    status: refusal.status,
                    detail: "expected 101 Switching Protocols; a proxy between devloop and the API server may "
                        + "not support WebSocket")
            }
        }
    }
}
