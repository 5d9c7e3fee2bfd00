import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import WebAppCore

/// Builds the real application on a fresh SQLite file (migrated at start, as with MIGRATE_ON_START=1)
/// and runs `test` against its router.
func withTestApp<Value: Sendable>(
    store makeStore: (@Sendable (_ directory: TemporaryDirectory) async throws -> any TodoStore)? = nil,
    templates: String? = nil,
    reload: Bool = false,
    migrate: Bool = true,
    // Generous: the suites run side by side with a browser on 2 cores, where a 2 s database ping can miss.
    readinessTimeout: Duration = .seconds(30),
    _ test: @Sendable (any TestClientProtocol) async throws -> Value
) async throws -> Value {
    let directory = try TemporaryDirectory("webapp-app")
    defer { directory.remove() }
    let logger = quietLogger("test.app")
    let store: any TodoStore
    if let makeStore {
        store = try await makeStore(directory)
    } else {
        store = try await SQLiteTodoStore.open(path: directory.file("webapp.sqlite"), logger: logger)
    }
    var config = AppConfig()
    config.host = "127.0.0.1"
    config.port = 0
    config.migrateOnStart = migrate
    config.templatesDirectory = templates
    config.templatesReload = reload
    config.readinessTimeout = readinessTimeout
    let renderer = try await WebAppServer.makeRenderer(config, logger: logger)
    let app = WebAppServer.makeApplication(config: config, store: store, renderer: renderer, logger: logger)
    return try await app.test(.router, test)
}

extension TestClientProtocol {
    /// Sends a JSON (or any raw) body.
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil) async throws -> TestResponse {
        let headers: HTTPFields = json == nil ? [:] : [.contentType: "application/json"]
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    /// Posts an HTML form the way a browser does.
    func submit(_ uri: String, _ fields: [String: String]) async throws -> TestResponse {
        var components = URLComponents()
        components.queryItems = fields.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        return try await execute(
            uri: uri, method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: components.percentEncodedQuery ?? "")
        )
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body decoded as JSON.
    func json<Value: Decodable>(_ type: Value.Type) throws -> Value {
        try JSONDecoder().decode(Value.self, from: Data(text.utf8))
    }

    /// The `{"error": ..., "field": ...}` body of an API error.
    var apiError: [String: String]? { try? json([String: String].self) }
}
