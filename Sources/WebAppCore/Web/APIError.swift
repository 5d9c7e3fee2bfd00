import Foundation
import Hummingbird

/// An error the API answers with `{"error": "...", "field": "..."}` and its status.
struct APIError: HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String
    var field: String?

    init(_ status: HTTPResponse.Status, _ message: String, field: String? = nil) {
        self.status = status
        self.message = message
        self.field = field
    }

    static func notFound(_ what: String, id: Int) -> APIError {
        APIError(.notFound, "\(what) \(id) not found")
    }

    private struct Body: Encodable {
        var error: String
        var field: String?
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        try JSONResponse.make(Body(error: message, field: field), status: status)
    }
}

/// JSON responses with a chosen status, encoded the same way everywhere.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
