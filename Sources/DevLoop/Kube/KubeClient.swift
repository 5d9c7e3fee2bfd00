import Foundation
import Synchronization

/// The Kubernetes API client: authenticated requests to one cluster, errors decoded from metav1.Status.
public final class KubeClient: Sendable {
    public let config: KubeClientConfig
    let transport: HTTPTransport
    let credentials: CredentialProvider
    let streamProtocols = Mutex<String?>(nil)

    public init(config: KubeClientConfig, transport: HTTPTransport = CurlHTTPClient()) {
        self.config = config
        self.transport = transport
        self.credentials = CredentialProvider(source: config.credentials, cluster: config)
    }

    /// A request whose whole body is read; throws `KubeClientError.api` for non-2xx answers.
    public func send(
        _ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil,
        contentType: String = "application/json", timeout: TimeInterval? = 60
    ) async throws -> HTTPResponse {
        let response = try await open(
            method, path, query: query, body: body, contentType: contentType, timeout: timeout)
        return HTTPResponse(status: response.status, headers: response.headers, body: try await response.collect())
    }

    /// A request whose body streams (watch, logs -f). Non-2xx answers are thrown before streaming.
    public func open(
        _ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil,
        contentType: String = "application/json", timeout: TimeInterval? = nil
    ) async throws -> HTTPStreamResponse {
        var retried = false
        var throttled = 0
        while true {
            let (tls, headers) = try await authenticated(contentType: body == nil ? nil : contentType)
            let request = HTTPRequest(
                method: method, url: try url(path, query), headers: headers, body: body, timeout: timeout)
            let response = try await transport.stream(request, tls: tls)
            if (200..<300).contains(response.status) { return response }
            let errorBody = try await response.collect()
            if response.status == 401, !retried, await credentials.invalidate() {
                retried = true
                continue
            }
            if throttled < Self.retryAfterLimit, let wait = Self.retryAfter(response) {
                // API Priority and Fairness (429) or a restarting server (5xx) asked us to come back.
                throttled += 1
                try await Task.sleep(for: wait)
                continue
            }
            throw KubeClientError.api(
                APIStatusError(code: response.status, body: errorBody, method: method, path: path))
        }
    }

    /// How many Retry-After answers one request follows (client-go: 10).
    static let retryAfterLimit = 10

    /// The wait a 429 or 5xx answer asks for in Retry-After (whole seconds, capped), as client-go obeys it.
    static func retryAfter(_ response: HTTPStreamResponse) -> Duration? {
        guard response.status == 429 || response.status >= 500,
            let seconds = response.headers["retry-after"].flatMap({ Int($0) }), seconds >= 0
        else { return nil }
        return .seconds(min(seconds, 30))
    }

    public func get(_ path: String, query: [(String, String)] = [], timeout: TimeInterval = 60) async throws
        -> JSONValue
    {
        try Self.decodeKubernetesJSON(try await send("GET", path, query: query, timeout: timeout), "GET", path)
    }

    public func create(_ path: String, _ object: JSONValue) async throws -> JSONValue {
        try Self.decodeKubernetesJSON(try await send("POST", path, body: try object.encoded()), "POST", path)
    }

    public func delete(_ path: String) async throws {
        _ = try await send("DELETE", path)
    }

    /// `GET /version`: the server's gitVersion, e.g. "v1.30.2".
    public func serverVersion() async throws -> String {
        let version = try await get("/version")
        guard let text = version["gitVersion"]?.string else {
            throw KubeClientError.protocolViolation("/version has no gitVersion")
        }
        return text
    }

    /// TLS settings and headers for one request, with the current credentials.
    func authenticated(contentType: String?) async throws -> (TLSSettings, [String: String]) {
        let current = try await credentials.current()
        var tls = config.tls
        if let certificate = current.clientCertificatePEM, let key = current.clientKeyPEM {
            tls.clientCertificatePEM = certificate
            tls.clientKeyPEM = key
        }
        var headers = ["Accept": "application/json", "User-Agent": "devloop/\(DevLoopVersion.current)"]
        if let token = current.bearerToken { headers["Authorization"] = "Bearer \(token)" }
        if let contentType { headers["Content-Type"] = contentType }
        return (tls, headers)
    }

    /// The server URL (which may carry a path prefix, as behind Rancher) plus an API path and query.
    /// Paths are built from object names: one that is no valid URL path (a space, `#`, `?`, a non-ASCII
    /// letter) is refused here, naming the segment, instead of reaching another URL or crashing.
    func url(_ path: String, _ query: [(String, String)]) throws -> URL {
        if let segment = RequestPath.invalidSegment(in: path) {
            throw KubeClientError.invalidPath(path: path, segment: segment)
        }
        var base = config.server.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        var text = base + path
        if !query.isEmpty {
            text +=
                "?" + query.map { "\(QueryEncoding.escape($0.0))=\(QueryEncoding.escape($0.1))" }.joined(separator: "&")
        }
        guard let url = URL(string: text) else { throw KubeClientError.invalidPath(path: path, segment: path) }
        return url
    }

    /// A 2xx body as JSON, or an error that says the answer was not Kubernetes JSON (an HTML page from a
    /// proxy, plain text) with the status and an excerpt, instead of a DecodingError dump.
    static func decodeKubernetesJSON(_ response: HTTPResponse, _ method: String, _ path: String) throws -> JSONValue {
        do {
            return try JSONValue.decode(response.body)
        } catch {
            throw KubeClientError.notKubernetesJSON(
                status: response.status, request: "\(method) \(path)",
                excerpt: APIStatusError.summary(of: response.body))
        }
    }
}

enum QueryEncoding {
    private static let unreserved = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    /// Strict percent-encoding: Go's query parser reads "+" as a space, so it must be escaped too.
    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
