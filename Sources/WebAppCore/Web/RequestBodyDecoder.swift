import Foundation
import Hummingbird

/// Reads a request body with a size limit and decodes it, turning every failure into an `APIError`
/// that names the offending field: 413 too large, 400 not a JSON object, 422 a field missing or mistyped.
struct RequestBodyDecoder: Sendable {
    var maxBytes: Int

    func json<Value: Decodable>(_ type: Value.Type, from request: Request) async throws -> Value {
        let data = try await collect(request)
        do {
            return try JSONDecoder().decode(Value.self, from: data)
        } catch let error as DecodingError {
            throw Self.apiError(error)
        }
    }

    func form<Value: Decodable>(_ type: Value.Type, from request: Request) async throws -> Value {
        let data = try await collect(request)
        do {
            return try URLEncodedFormDecoder().decode(Value.self, from: String(decoding: data, as: UTF8.self))
        } catch let error as DecodingError {
            throw Self.apiError(error)
        } catch {
            throw APIError(.badRequest, "body: not a valid form")
        }
    }

    /// Collects at most `maxBytes`; a larger declared or actual body is rejected without reading it all.
    func collect(_ request: Request) async throws -> Data {
        let tooLarge = APIError(.contentTooLarge, "body: larger than \(maxBytes) bytes")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBytes { throw tooLarge }
        var data = Data()
        for try await chunk in request.body {
            guard data.count + chunk.readableBytes <= maxBytes else { throw tooLarge }
            data.append(contentsOf: chunk.readableBytesView)
        }
        return data
    }

    static func apiError(_ error: DecodingError) -> APIError {
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return APIError(.unprocessableContent, "\(field): is required", field: field)
        case .typeMismatch(let type, let context) where !context.codingPath.isEmpty:
            let field = path(context.codingPath)
            return APIError(.unprocessableContent, "\(field): must be \(describe(type))", field: field)
        case .valueNotFound(let type, let context) where !context.codingPath.isEmpty:
            let field = path(context.codingPath)
            return APIError(.unprocessableContent, "\(field): must be \(describe(type)), not null", field: field)
        case .typeMismatch, .valueNotFound:
            return APIError(.badRequest, "body: must be a JSON object")
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            let field = path(context.codingPath)
            return APIError(.unprocessableContent, "\(field): invalid value", field: field)
        default:
            return APIError(.badRequest, "body: malformed JSON")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Bool.Type: "a boolean"
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        default: "a \(type)"
        }
    }
}
