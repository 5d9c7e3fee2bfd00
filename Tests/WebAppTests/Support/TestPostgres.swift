import Foundation
import Logging
import PostgresNIO
import WebAppCore

/// The real PostgreSQL the test command starts (`dev/postgres.sh`, exported as TEST_DATABASE_URL). Every
/// test gets its own database, so tests run in parallel and in any order.
enum TestPostgres {
    static let logger = quietLogger("test.postgres")

    /// TEST_DATABASE_URL, or an error that tells how to get one: PostgreSQL tests never skip silently.
    static func serverURL() throws -> PostgresURL {
        guard let raw = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"], !raw.isEmpty else {
            throw TestSetupError(
                """
                TEST_DATABASE_URL is not set, so the PostgreSQL tests cannot run. Run ./dev/test.sh, or start one: \
                export TEST_DATABASE_URL=$(dev/postgres.sh start /tmp/webapp-pg) (stop it with dev/postgres.sh stop /tmp/webapp-pg)
                """
            )
        }
        return try PostgresURL(raw)
    }

    /// Creates an empty database, runs `body` with its URL, then drops it.
    static func withDatabase<Result: Sendable>(_ body: (PostgresURL) async throws -> Result) async throws -> Result {
        let server = try serverURL()
        let name = "webapp_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        try await admin(server, "CREATE DATABASE \(name)")
        var url = server
        url.database = name
        do {
            let result = try await body(url)
            try await admin(server, "DROP DATABASE \(name) WITH (FORCE)")
            return result
        } catch {
            try? await admin(server, "DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
    }

    /// Runs one statement on a short-lived connection to the server's default database.
    private static func admin(_ url: PostgresURL, _ sql: String) async throws {
        let configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password,
            database: url.database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
