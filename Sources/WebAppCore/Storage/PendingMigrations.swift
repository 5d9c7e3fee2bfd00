import Synchronization

/// The migrations this build knows that a database has not recorded: what `/ready` and the start-up
/// log check, so a database without its schema is never reported ready while every query fails.
struct PendingMigrations: Sendable, CustomStringConvertible {
    let migrations: [Migration]

    static func of(_ store: any TodoStore) async throws -> PendingMigrations {
        let applied = Set(try await store.appliedMigrations())
        return PendingMigrations(migrations: Migrations.all.filter { !applied.contains($0.version) })
    }

    var isEmpty: Bool { migrations.isEmpty }

    /// "pending migrations 1 (create …), 2 (…): run `WebApp migrate` or start with MIGRATE_ON_START=1"
    var description: String {
        let names = migrations.map { "\($0.version) (\($0.name))" }.joined(separator: ", ")
        return "pending migrations \(names): run `WebApp migrate` or start with MIGRATE_ON_START=1"
    }
}

/// Remembers once a database had every migration: versions only grow, so later probes skip the query.
final class MigrationState: Sendable {
    private let complete = Atomic(false)

    func pending(in store: any TodoStore) async throws -> PendingMigrations {
        if complete.load(ordering: .acquiring) { return PendingMigrations(migrations: []) }
        let pending = try await PendingMigrations.of(store)
        if pending.isEmpty { complete.store(true, ordering: .releasing) }
        return pending
    }
}
