import Logging
import NIOCore
import SQLiteNIO
import ServiceLifecycle

/// The embedded store: one SQLite file, one connection (SQLite serializes writers anyway).
public final class SQLiteTodoStore: TodoStore {
    private let connection: SQLiteConnection

    private init(connection: SQLiteConnection) {
        self.connection = connection
    }

    /// Opens (creating when missing) the database file at `path`.
    public static func open(path: String, logger: Logger) async throws -> SQLiteTodoStore {
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        // WAL and a busy timeout let `WebApp migrate` run while a server holds the file open.
        for pragma in ["PRAGMA foreign_keys = ON", "PRAGMA journal_mode = WAL", "PRAGMA busy_timeout = 5000"] {
            _ = try await connection.query(pragma)
        }
        return SQLiteTodoStore(connection: connection)
    }

    /// Holds the connection open until graceful shutdown (or cancellation), then closes it.
    public func run() async throws {
        try? await gracefulShutdown()
        // The future-based close: the async one gives up in a cancelled task and leaves the file open.
        let closed: EventLoopFuture<Void> = connection.close()
        try await closed.get()
    }

    public func migrate() async throws -> [Int] {
        try await query(
            """
            CREATE TABLE IF NOT EXISTS \(Migrations.tableName) (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)
            """
        )
        // IMMEDIATE takes the write lock at once: a second migrating process waits instead of racing.
        try await query("BEGIN IMMEDIATE")
        do {
            let applied = Set(try await appliedMigrations())
            var versions: [Int] = []
            for migration in Migrations.all where !applied.contains(migration.version) {
                for statement in migration.sqlite { try await query(statement) }
                try await query(
                    "INSERT INTO \(Migrations.tableName) (version, name) VALUES (?, ?)",
                    [.integer(migration.version), .text(migration.name)]
                )
                versions.append(migration.version)
            }
            try await query("COMMIT")
            return versions
        } catch {
            _ = try? await connection.query("ROLLBACK")
            throw error
        }
    }

    public func appliedMigrations() async throws -> [Int] {
        let table = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        guard try await !query(table, [.text(Migrations.tableName)]).isEmpty else { return [] }
        let rows = try await query("SELECT version FROM \(Migrations.tableName) ORDER BY version")
        return rows.compactMap { $0.column("version")?.integer }
    }

    public func ping() async throws {
        try await query("SELECT 1")
    }

    public func recordVisit() async throws -> Int {
        let rows = try await query("UPDATE visit_counter SET count = count + 1 WHERE id = 1 RETURNING count")
        guard let count = rows.first?.column("count")?.integer else { throw StoreError.missingVisitCounter }
        return count
    }

    public func allLists() async throws -> [TodoList] {
        let lists = try await query("SELECT id, name FROM todo_lists ORDER BY id").map(Self.decodeList)
        let items = try await query("SELECT id, list_id, title, done FROM todo_items ORDER BY id").map(Self.decodeItem)
        return items.grouped(into: lists)
    }

    public func list(id: Int) async throws -> TodoList? {
        guard let row = try await query("SELECT id, name FROM todo_lists WHERE id = ?", [.integer(id)]).first
        else { return nil }
        let items = try await query(
            "SELECT id, list_id, title, done FROM todo_items WHERE list_id = ? ORDER BY id",
            [.integer(id)]
        )
        return items.map(Self.decodeItem).grouped(into: [Self.decodeList(row)]).first
    }

    public func createList(name: String) async throws -> TodoList {
        let rows = try await query("INSERT INTO todo_lists (name) VALUES (?) RETURNING id, name", [.text(name)])
        guard let row = rows.first else { throw StoreError.noRowReturned("INSERT INTO todo_lists") }
        return Self.decodeList(row)
    }

    public func deleteList(id: Int) async throws -> Bool {
        try await !query("DELETE FROM todo_lists WHERE id = ? RETURNING id", [.integer(id)]).isEmpty
    }

    public func addItem(title: String, toList listId: Int) async throws -> TodoItem? {
        // One statement: the insert happens only when the list exists, with no race between check and insert.
        try await query(
            """
            INSERT INTO todo_items (list_id, title) SELECT id, ? FROM todo_lists WHERE id = ?
            RETURNING id, list_id, title, done
            """,
            [.text(title), .integer(listId)]
        ).first.map(Self.decodeItem)
    }

    public func setItem(id: Int, inList listId: Int, done: Bool) async throws -> TodoItem? {
        try await query(
            "UPDATE todo_items SET done = ? WHERE id = ? AND list_id = ? RETURNING id, list_id, title, done",
            [.integer(done ? 1 : 0), .integer(id), .integer(listId)]
        ).first.map(Self.decodeItem)
    }

    public func deleteItem(id: Int, inList listId: Int) async throws -> Bool {
        try await !query(
            "DELETE FROM todo_items WHERE id = ? AND list_id = ? RETURNING id",
            [.integer(id), .integer(listId)]
        ).isEmpty
    }

    @discardableResult
    private func query(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try await connection.query(sql, binds)
    }

    private static func decodeList(_ row: SQLiteRow) -> TodoList {
        TodoList(id: row.column("id")?.integer ?? 0, name: row.column("name")?.string ?? "")
    }

    private static func decodeItem(_ row: SQLiteRow) -> TodoItem {
        TodoItem(
            id: row.column("id")?.integer ?? 0,
            listId: row.column("list_id")?.integer ?? 0,
            title: row.column("title")?.string ?? "",
            done: (row.column("done")?.integer ?? 0) != 0
        )
    }
}
