import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import WebAppCore

/// A database without its schema answers pings but fails every query: `/ready` must say so, naming
/// the pending migrations and the fix, and turn ready once they are applied.
@Suite struct ReadinessMigrationTests {
    @Test func readyIs503NamingPendingMigrationsUntilTheyAreApplied() async throws {
        let opened = OpenedStore()
        try await withTestApp(
            store: { directory in
                let store = try await SQLiteTodoStore.open(
                    path: directory.file("webapp.sqlite"), logger: quietLogger("test.pending"))
                opened.store = store
                return store
            }, migrate: false
        ) { client in
            let ready = try await client.send(.get, "/ready")
            #expect(ready.status == .serviceUnavailable)
            let reason = try #require(ready.apiError?["error"])
            #expect(
                reason.contains("pending migrations 1 (create todo_lists and todo_items), 2 (create visit_counter)"))
            #expect(reason.contains("WebApp migrate") && reason.contains("MIGRATE_ON_START=1"), "\(reason)")
            #expect(try await client.send(.get, "/health").status == .ok)

            let store = try #require(opened.store)
            #expect(try await store.migrate() == [1, 2])
            #expect(try await client.send(.get, "/ready").status == .ok)
            #expect(try await client.send(.get, "/").status == .ok)
        }
    }

    @Test func theServerSaysAtStartThatItIsNotReady() async throws {
        let data = try TemporaryDirectory("webapp-pending")
        defer { data.remove() }
        let server = try ChildProcess(
            webAppExecutable, environment: ["DATA_DIR": data.path, "HOST": "127.0.0.1", "PORT": "0"])
        let port = try #require(Int(try await server.waitForOutput(#"listening on http://127\.0\.0\.1:(\d+)"#)))
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client async throws in
            #expect(try await client.get("/ready").status == .serviceUnavailable)
        }
        server.signal(SIGTERM)
        #expect(try await server.waitForExit(timeout: .seconds(30)) == 0, "\(server.stderr)")
        let output = server.stdout + server.stderr
        #expect(output.contains("not ready: pending migrations 1"), "\(output)")
    }
}

/// The store the app under test opened, so the test can migrate it behind the running app.
private final class OpenedStore: @unchecked Sendable {
    var store: SQLiteTodoStore?
}
