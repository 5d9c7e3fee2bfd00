import Foundation

/// How the client trusts the API server and identifies itself at the TLS layer. PEM bytes stay in memory
/// (libcurl's *_BLOB options): no temporary files.
public struct TLSSettings: Sendable, Equatable {
    public var caPEM: Data?
    public var clientCertificatePEM: Data?
    public var clientKeyPEM: Data?
    /// Only when the kubeconfig says `insecure-skip-tls-verify: true`.
    public var insecureSkipVerify: Bool
    /// Host name expected in the server's certificate (kubeconfig's tls-server-name) instead of the URL's.
    public var serverName: String?
    /// The folder of trusted CAs when the kubeconfig names none; nil keeps libcurl's built-in one
    /// (/etc/ssl/certs on Debian). Tests point it at a folder of their own.
    var systemCAPath: String?
    /// The cluster's `proxy-url` (http, https or socks5); nil means the proxy variables of the environment.
    public var proxyURL: String?

    public init(
        caPEM: Data? = nil, clientCertificatePEM: Data? = nil, clientKeyPEM: Data? = nil,
        insecureSkipVerify: Bool = false, serverName: String? = nil
    ) {
        self.caPEM = caPEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.insecureSkipVerify = insecureSkipVerify
        self.serverName = serverName
    }
}

public struct HTTPRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: [String: String]
    public var body: Data?
    /// Whole-transfer limit; nil for streams that live as long as their consumer (watch, logs -f).
    public var timeout: TimeInterval?

    public init(
        method: String = "GET", url: URL, headers: [String: String] = [:], body: Data? = nil,
        timeout: TimeInterval? = 60
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data
}

/// A response whose body arrives chunk by chunk; dropping the body sequence aborts the transfer.
public struct HTTPStreamResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: AsyncThrowingStream<Data, Error>

    public func collect() async throws -> Data {
        var data = Data()
        for try await chunk in body { data.append(chunk) }
        return data
    }
}

/// The HTTP seam of the Kube client: libcurl in production.
public protocol HTTPTransport: Sendable {
    func stream(_ request: HTTPRequest, tls: TLSSettings) async throws -> HTTPStreamResponse
}

extension HTTPTransport {
    public func send(_ request: HTTPRequest, tls: TLSSettings) async throws -> HTTPResponse {
        let response = try await stream(request, tls: tls)
        return HTTPResponse(status: response.status, headers: response.headers, body: try await response.collect())
    }
}
