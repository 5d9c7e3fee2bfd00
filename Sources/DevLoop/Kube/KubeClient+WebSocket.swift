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
