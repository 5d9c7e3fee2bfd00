import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import WebAppCore

/// The built `WebApp` executable, as a container or a dev pod runs it.
@Suite struct BinaryTests {
    @Test func migrateCommandAppliesPendingMigrationsOnce() async throws {
        let data = try TemporaryDirectory("webapp-migrate")
        defer { data.remove() }
        let first = try ChildProcess(webAppExecutable, ["migrate"], environment: ["DATA_DIR": data.path])
        #expect(try await first.waitForExit() == 0, "\(first.stderr)")
        #expect(first.stdout.contains("applied versions [1, 2]"), "\(first.stdout)")
        #expect(FileManager.default.fileExists(atPath: data.file("webapp.sqlite")))

        let second = try ChildProcess(webAppExecutable, ["migrate"], environment: ["DATA_DIR": data.path])
        #expect(try await second.waitForExit() == 0)
        #expect(second.stdout.contains("database is up to date"), "\(second.stdout)")
    }

    @Test func badConfigurationAndArgumentsExitNonZeroNamingTheProblem() async throws {
        let port = try ChildProcess(webAppExecutable, environment: ["PORT": "eighty"])
        #expect(try await port.waitForExit() == 78)
        #expect(port.stderr.contains("PORT: 'eighty' is not a port number"), "\(port.stderr)")

        let url = try ChildProcess(webAppExecutable, ["migrate"], environment: ["DATABASE_URL": "mysql://u:pw@h/d"])
        #expect(try await url.waitForExit() == 78)
        #expect(url.stderr.contains("DATABASE_URL: unsupported scheme"), "\(url.stderr)")

        let argument = try ChildProcess(webAppExecutable, ["serve", "--now"])
        #expect(try await argument.waitForExit() == 64)
        #expect(argument.stderr.contains("unknown arguments"))
    }

    /// Migrate and serve against the real PostgreSQL, then stop with SIGTERM as Kubernetes does.
    @Test func servesFromPostgreSQLAndStopsGracefullyOnSIGTERM() async throws {
        try await TestPostgres.withDatabase { url async throws in
            // The test cluster trusts local connections: the password is never checked, only never logged.
            let databaseURL = "postgres://\(url.user):not-logged-s3cret@\(url.host):\(url.port)/\(url.database!)"
            let migrate = try ChildProcess(webAppExecutable, ["migrate"], environment: ["DATABASE_URL": databaseURL])
            #expect(try await migrate.waitForExit() == 0, "\(migrate.stdout)\(migrate.stderr)")
            #expect(migrate.stdout.contains("applied versions [1, 2]"), "\(migrate.stdout)")

            let server = try ChildProcess(
                webAppExecutable, environment: ["DATABASE_URL": databaseURL, "HOST": "127.0.0.1", "PORT": "0"])
            let port = try #require(Int(try await server.waitForOutput(#"listening on http://127\.0\.0\.1:(\d+)"#)))
            try await TestClient.withClient(host: "127.0.0.1", port: port) { client async throws in
                let ready = try await client.get("/ready")
                #expect(ready.status == .ok)
                let page = try await client.get("/")
                #expect(String(buffer: page.body ?? ByteBuffer()).contains("seen 1 times"))
            }
            server.signal(SIGTERM)
            #expect(try await server.waitForExit(timeout: .seconds(30)) == 0, "\(server.stderr)")
            #expect(server.stdout.contains("GET /ready 200"))
            #expect(server.stdout.contains("WebApp stopped"), "\(server.stdout)")
            #expect(server.stdout.contains("storage: PostgreSQL postgres://\(url.user):***@"))
            #expect(!(server.stdout + migrate.stdout).contains("not-logged-s3cret"), "a password was logged")
        }
    }
}
