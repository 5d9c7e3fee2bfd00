import Hummingbird

/// Liveness and readiness for Kubernetes probes.
struct HealthRoutes: Sendable {
    let store: any TodoStore
    /// How long `/ready` waits for the database (`AppConfig.readinessTimeout`).
    var databaseTimeout: Duration = .seconds(2)
    let migrations = MigrationState()

    func add(to router: Router<BasicRequestContext>) {
        // Liveness says only that the process serves: a database outage must not get pods restarted.
        router.get("health") { _, _ in try JSONResponse.make(["status": "ok"]) }
        router.get("ready") { _, _ in try await ready() }
    }

    func ready() async throws -> Response {
        do {
            let pending = try await withTimeout(databaseTimeout) { [store, migrations] in
                try await store.ping()
                return try await migrations.pending(in: store)
            }
            guard pending.isEmpty else {
                // Every query would fail with "no such table": not ready, and the answer says how to fix it.
                return try JSONResponse.make(
                    ["status": "unavailable", "error": pending.description], status: .serviceUnavailable)
            }
            return try JSONResponse.make(["status": "ready"])
        } catch is TimeoutError {
            let reason = "database did not answer within \(databaseTimeout)"
            return try JSONResponse.make(["status": "unavailable", "error": reason], status: .serviceUnavailable)
        } catch {
            let reason = "database error: \(String(describing: error).prefix(200))"
            return try JSONResponse.make(["status": "unavailable", "error": reason], status: .serviceUnavailable)
        }
    }
}

struct TimeoutError: Error {}

/// Runs `operation`, throwing `TimeoutError` when it takes longer than `duration`.
func withTimeout<Value: Sendable>(
    _ duration: Duration,
    _ operation: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    try await withThrowingTaskGroup(of: Value.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: duration)
            throw TimeoutError()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
