import Foundation
import Testing
import WebAppCore

/// One storage suite, run against SQLite and against a real PostgreSQL.
@Suite struct StoreTests {
    @Test(arguments: StoreKind.allCases)
    func migrationsApplyOnceAndAreRecorded(kind: StoreKind) async throws {
        try await kind.withEmptyStore { store, _ async throws in
            #expect(try await store.appliedMigrations() == [])
            #expect(try await store.migrate() == [1, 2])
            #expect(try await store.migrate() == [])
            #expect(try await store.appliedMigrations() == [1, 2])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func visitCounterIncrementsAtomically(kind: StoreKind) async throws {
        try await kind.withEmptyStore { store, _ async throws in
            _ = try await store.migrate()
            #expect(try await store.recordVisit() == 1)
            #expect(try await store.recordVisit() == 2)
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<20 { group.addTask { try await store.recordVisit() } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            // Concurrent increments never lose an update nor hand out a value twice.
            #expect(counts.sorted() == Array(3...22))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func listsAndItemsRoundTrip(kind: StoreKind) async throws {
        try await kind.withEmptyStore { store, _ async throws in
            _ = try await store.migrate()
            let name = "Café 'single' \"double\" 🍎; DROP TABLE todo_lists; --"
            let groceries = try await store.createList(name: name)
            let chores = try await store.createList(name: "Chores")
            #expect(groceries.name == name)
            #expect(groceries.items.isEmpty)
            #expect(chores.id != groceries.id)

            let milk = try #require(try await store.addItem(title: "Milk", toList: groceries.id))
            let bread = try #require(try await store.addItem(title: "Bread", toList: groceries.id))
            let sweep = try #require(try await store.addItem(title: "Sweep", toList: chores.id))
            #expect(milk == TodoItem(id: milk.id, listId: groceries.id, title: "Milk", done: false))

            let done = try await store.setItem(id: bread.id, inList: groceries.id, done: true)
            #expect(done?.done == true)
            #expect(try await store.setItem(id: bread.id, inList: groceries.id, done: false)?.done == false)
            _ = try await store.setItem(id: bread.id, inList: groceries.id, done: true)

            let expected = [
                TodoList(
                    id: groceries.id, name: name,
                    items: [milk, TodoItem(id: bread.id, listId: groceries.id, title: "Bread", done: true)]),
                TodoList(id: chores.id, name: "Chores", items: [sweep]),
            ]
            #expect(try await store.allLists() == expected)
            #expect(try await store.list(id: groceries.id) == expected[0])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func unknownIdsAreReportedNotThrown(kind: StoreKind) async throws {
        try await kind.withEmptyStore { store, _ async throws in
            _ = try await store.migrate()
            let list = try await store.createList(name: "A")
            let other = try await store.createList(name: "B")
            let item = try #require(try await store.addItem(title: "x", toList: list.id))

            #expect(try await store.list(id: 999_999) == nil)
            #expect(try await store.addItem(title: "y", toList: 999_999) == nil)
            // An item is addressed through its own list only.
            #expect(try await store.setItem(id: item.id, inList: other.id, done: true) == nil)
            #expect(try await store.deleteItem(id: item.id, inList: other.id) == false)
            #expect(try await store.setItem(id: 999_999, inList: list.id, done: true) == nil)

            #expect(try await store.deleteItem(id: item.id, inList: list.id))
            #expect(try await store.deleteItem(id: item.id, inList: list.id) == false)
            #expect(try await store.deleteList(id: list.id))
            #expect(try await store.deleteList(id: list.id) == false)
            #expect(try await store.allLists().map(\.id) == [other.id])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deletingAListDeletesItsItems(kind: StoreKind) async throws {
        try await kind.withEmptyStore { store, _ async throws in
            _ = try await store.migrate()
            let list = try await store.createList(name: "Doomed")
            let item = try #require(try await store.addItem(title: "gone too", toList: list.id))
            #expect(try await store.deleteList(id: list.id))
            #expect(try await store.setItem(id: item.id, inList: list.id, done: true) == nil)
            #expect(try await store.addItem(title: "late", toList: list.id) == nil)
            #expect(try await store.allLists().isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func dataSurvivesAReopen(kind: StoreKind) async throws {
        try await kind.withEmptyStore { store, reopen async throws in
            _ = try await store.migrate()
            let list = try await store.createList(name: "Persistent")
            _ = try await store.addItem(title: "kept", toList: list.id)
            _ = try await store.recordVisit()

            let second = try await reopen()
            try await second.withRunning { () async throws in
                #expect(try await second.migrate() == [])
                #expect(try await second.list(id: list.id)?.items.map(\.title) == ["kept"])
                #expect(try await second.recordVisit() == 2)
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func pingAnswers(kind: StoreKind) async throws {
        try await kind.withEmptyStore { store, _ async throws in
            try await store.ping()
        }
    }
}
