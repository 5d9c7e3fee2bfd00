import Foundation
import Logging
import Testing
import WebAppCore

/// The two real databases the same storage suite runs against.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// Opens a store on an empty database of this kind, runs it for the duration of `body`, then
    /// throws the database away. `reopen` gives `body` a way to open a second store on the same data.
    func withEmptyStore(
        _ body:
            @Sendable (_ store: any TodoStore, _ reopen: @Sendable () async throws -> any TodoStore) async throws ->
            Void
    ) async throws {
        let logger = quietLogger("test.store")
        switch self {
        case .sqlite:
            let directory = try TemporaryDirectory("webapp-sqlite")
            defer { directory.remove() }
            let path = directory.file("webapp.sqlite")
            let store = try await SQLiteTodoStore.open(path: path, logger: logger)
            try await store.withRunning {
                try await body(store) { try await SQLiteTodoStore.open(path: path, logger: logger) }
            }
        case .postgres:
            try await TestPostgres.withDatabase { url in
                let store = PostgresTodoStore(url: url, logger: logger)
                try await store.withRunning {
                    try await body(store) { PostgresTodoStore(url: url, logger: logger) }
                }
            }
        }
    }
}
