import Foundation
import NIOCore
import NIOHTTP1

/// A complete request as the router sees it, with the authenticated user (nil: nobody).
struct HTTPRequest: Sendable {
    var method: HTTPMethod
    var uri: String
    var path: String
    var query: [String: [String]]
    var headers: HTTPHeaders
    var body: ByteBuffer?
    var user: UserInfo?

    init(head: HTTPRequestHead, body: ByteBuffer?, user: UserInfo?) {
        method = head.method
        uri = head.uri
        headers = head.headers
        self.body = body
        self.user = user
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = parts.first.map { String($0).removingPercentEncoding ?? String($0) } ?? "/"
        query = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(kv[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
                let value =
                    kv.count > 1
                    ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "") : ""
                query[key, default: []].append(value)
            }
        }
    }

    func parameter(_ name: String) -> String? { query[name]?.first }

    func flag(_ name: String) -> Bool {
        guard let value = parameter(name) else { return false }
        return value == "true" || value == "1" || value.isEmpty
    }

    var bodyData: Data { body.map { Data($0.readableBytesView) } ?? Data() }

    var contentType: String {
        (headers.first(name: "content-type") ?? "").split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
    }

    /// `kubectl get` asks for `application/json;as=Table;v=v1;g=meta.k8s.io`.
    var wantsTable: Bool {
        let accept = headers.first(name: "accept") ?? ""
        return accept.split(separator: ",").first.map { $0.contains("as=Table") } ?? false
    }
}

/// A response: a whole body, or a stream of chunks (watch, follow logs) ended by finishing the stream.
struct HTTPResponse: Sendable {
    enum Body: Sendable {
        case full(Data)
        case stream(AsyncStream<Data>)
    }

    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: Body

    init(status: HTTPResponseStatus, contentType: String, body: Body) {
        self.status = status
        self.headers = ["Content-Type": contentType, "Cache-Control": "no-cache, private"]
        self.body = body
    }

    static func json(_ object: JSON, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        var data = object.encoded()
        data.append(0x0A)
        return HTTPResponse(status: status, contentType: "application/json", body: .full(data))
    }

    static func error(_ error: APIError) -> HTTPResponse {
        json(error.status, status: HTTPResponseStatus(statusCode: error.code))
    }

    /// A status line and nothing else, as Go's x/net/websocket answers a refused handshake.
    static func bare(_ status: HTTPResponseStatus) -> HTTPResponse {
        var response = HTTPResponse(status: status, contentType: "", body: .full(Data()))
        response.headers = [:]
        return response
    }

    static func text(_ text: String, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: .full(Data(text.utf8)))
    }
}
