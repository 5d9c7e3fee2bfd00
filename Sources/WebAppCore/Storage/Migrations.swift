/// One versioned schema change, written once per SQL dialect. Versions only grow; a released migration is
/// never edited, a new one is appended.
struct Migration: Sendable {
    let version: Int
    let name: String
    let sqlite: [String]
    let postgres: [String]
}

enum Migrations {
    static let all: [Migration] = [
        Migration(
            version: 1,
            name: "create todo_lists and todo_items",
            sqlite: [
                """
                CREATE TABLE todo_lists (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)
                """,
                """
                CREATE TABLE todo_items (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    list_id INTEGER NOT NULL REFERENCES todo_lists(id) ON DELETE CASCADE,
                    title TEXT NOT NULL,
                    done INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
                    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)
                """,
                "CREATE INDEX todo_items_list_id ON todo_items(list_id)",
            ],
            postgres: [
                """
                CREATE TABLE todo_lists (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    name TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """,
                """
                CREATE TABLE todo_items (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    list_id BIGINT NOT NULL REFERENCES todo_lists(id) ON DELETE CASCADE,
                    title TEXT NOT NULL,
                    done BOOLEAN NOT NULL DEFAULT false,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """,
                "CREATE INDEX todo_items_list_id ON todo_items(list_id)",
            ]
        ),
        Migration(
            version: 2,
            name: "create visit_counter",
            sqlite: [
                "CREATE TABLE visit_counter (id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL)",
                "INSERT INTO visit_counter (id, count) VALUES (1, 0)",
            ],
            postgres: [
                "CREATE TABLE visit_counter (id INTEGER PRIMARY KEY CHECK (id = 1), count BIGINT NOT NULL)",
                "INSERT INTO visit_counter (id, count) VALUES (1, 0)",
            ]
        ),
    ]

    /// The table that records which versions a database has.
    static let tableName = "schema_migrations"
}
