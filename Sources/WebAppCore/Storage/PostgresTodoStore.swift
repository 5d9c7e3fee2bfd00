import Logging
import PostgresNIO
import ServiceLifecycle

/// The production store: a PostgreSQL connection pool (`PostgresClient`), run as a service.
public final class PostgresTodoStore: TodoStore {
    private let client: PostgresClient
    private let logger: Logger

    public init(url: PostgresURL, logger: Logger) {
        var configuration = PostgresClient.Configuration(
            host: url.host,
            port: url.port,
            username: url.user,
            password: url.password,
            database: url.database,
            tls: url.tls.clientTLS
        )
        configuration.options.connectTimeout = .seconds(5)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    /// Runs the pool until graceful shutdown: in-flight queries finish, then the connections close.
    public func run() async throws {
        await client.run()
    }

    public func migrate() async throws -> [Int] {
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection in
            // Replicas started together with MIGRATE_ON_START=1 queue on this lock instead of racing;
            // it is released at commit. The key is arbitrary but fixed.
            try await connection.query("SELECT pg_advisory_xact_lock(7210420001)", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """,
                logger: logger
            )
            let rows = try await connection.query("SELECT version FROM schema_migrations", logger: logger).collect()
            let applied = Set(try rows.map { try $0.decode(Int.self) })
            var versions: [Int] = []
            for migration in Migrations.all where !applied.contains(migration.version) {
                for statement in migration.postgres {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger
                )
                versions.append(migration.version)
            }
            return versions
        }
    }

    public func appliedMigrations() async throws -> [Int] {
        let exists = try await rows("SELECT to_regclass('schema_migrations') IS NOT NULL").first?.decode(Bool.self)
        guard exists == true else { return [] }
        return try await rows("SELECT version FROM schema_migrations ORDER BY version").map { try $0.decode(Int.self) }
    }

    public func ping() async throws {
        try await client.query("SELECT 1", logger: logger)
    }

    public func recordVisit() async throws -> Int {
        let rows = try await rows("UPDATE visit_counter SET count = count + 1 WHERE id = 1 RETURNING count")
        guard let row = rows.first else { throw StoreError.missingVisitCounter }
        return try row.decode(Int.self)
    }

    public func allLists() async throws -> [TodoList] {
        let lists = try await rows("SELECT id, name FROM todo_lists ORDER BY id").map(Self.decodeList)
        let items = try await rows("SELECT id, list_id, title, done FROM todo_items ORDER BY id").map(Self.decodeItem)
        return items.grouped(into: lists)
    }

    public func list(id: Int) async throws -> TodoList? {
        guard let row = try await rows("SELECT id, name FROM todo_lists WHERE id = \(id)").first else { return nil }
        let items = try await rows(
            "SELECT id, list_id, title, done FROM todo_items WHERE list_id = \(id) ORDER BY id"
        ).map(Self.decodeItem)
        return items.grouped(into: [try Self.decodeList(row)]).first
    }

    public func createList(name: String) async throws -> TodoList {
        let rows = try await rows("INSERT INTO todo_lists (name) VALUES (\(name)) RETURNING id, name")
        guard let row = rows.first else { throw StoreError.noRowReturned("INSERT INTO todo_lists") }
        return try Self.decodeList(row)
    }

    public func deleteList(id: Int) async throws -> Bool {
        try await !rows("DELETE FROM todo_lists WHERE id = \(id) RETURNING id").isEmpty
    }

    public func addItem(title: String, toList listId: Int) async throws -> TodoItem? {
        // One statement: the insert happens only when the list exists, with no race between check and insert.
        try await rows(
            """
            INSERT INTO todo_items (list_id, title) SELECT id, \(title) FROM todo_lists WHERE id = \(listId)
            RETURNING id, list_id, title, done
            """
        ).first.map(Self.decodeItem)
    }

    public func setItem(id: Int, inList listId: Int, done: Bool) async throws -> TodoItem? {
        try await rows(
            """
            UPDATE todo_items SET done = \(done) WHERE id = \(id) AND list_id = \(listId)
            RETURNING id, list_id, title, done
            """
        ).first.map(Self.decodeItem)
    }

    public func deleteItem(id: Int, inList listId: Int) async throws -> Bool {
        try await !rows("DELETE FROM todo_items WHERE id = \(id) AND list_id = \(listId) RETURNING id").isEmpty
    }

    private func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await client.query(query, logger: logger).collect()
    }

    private static func decodeList(_ row: PostgresRow) throws -> TodoList {
        let (id, name) = try row.decode((Int, String).self)
        return TodoList(id: id, name: name)
    }

    private static func decodeItem(_ row: PostgresRow) throws -> TodoItem {
        let (id, listId, title, done) = try row.decode((Int, Int, String, Bool).self)
        return TodoItem(id: id, listId: listId, title: title, done: done)
    }
}

extension PostgresURL.TLSMode {
    var clientTLS: PostgresClient.Configuration.TLS {
        switch self {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }
}
