import ServiceLifecycle

/// A to-do list with its items, as the API returns it.
public struct TodoList: Codable, Sendable, Equatable {
    public var id: Int
    public var name: String
    public var items: [TodoItem]

    public init(id: Int, name: String, items: [TodoItem] = []) {
        self.id = id
        self.name = name
        self.items = items
    }
}

/// One item of a to-do list.
public struct TodoItem: Codable, Sendable, Equatable {
    public var id: Int
    public var listId: Int
    public var title: String
    public var done: Bool

    public init(id: Int, listId: Int, title: String, done: Bool) {
        self.id = id
        self.listId = listId
        self.title = title
        self.done = done
    }
}

/// Where the app keeps its lists and its visit counter. One protocol, two real databases (SQLite and
/// PostgreSQL), so the routes and the storage test suite never know which one they talk to.
///
/// A store is a `Service`: `run()` keeps its connections alive until graceful shutdown, then closes them.
/// Lookups by id return `nil` (or `false`) when the id is unknown; they throw only when the database fails.
public protocol TodoStore: Service {
    /// Applies the migrations the database has not seen yet and returns their versions, in order.
    func migrate() async throws -> [Int]
    /// The versions recorded in `schema_migrations`, in order; empty for a database never migrated.
    func appliedMigrations() async throws -> [Int]
    /// Throws unless the database answers a trivial query.
    func ping() async throws
    /// Increments the visit counter and returns its new value.
    func recordVisit() async throws -> Int

    func allLists() async throws -> [TodoList]
    func list(id: Int) async throws -> TodoList?
    func createList(name: String) async throws -> TodoList
    func deleteList(id: Int) async throws -> Bool
    func addItem(title: String, toList listId: Int) async throws -> TodoItem?
    func setItem(id: Int, inList listId: Int, done: Bool) async throws -> TodoItem?
    func deleteItem(id: Int, inList listId: Int) async throws -> Bool
}

extension TodoStore {
    /// Runs the store's background work (connection pool) only for the duration of `body`: for one-off
    /// commands such as `WebApp migrate` and for tests, where no service group owns the store.
    public func withRunning<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}

extension Array where Element == TodoItem {
    /// Groups items by list, keeping their order.
    func grouped(into lists: [TodoList]) -> [TodoList] {
        let byList = Dictionary(grouping: self, by: \.listId)
        return lists.map { TodoList(id: $0.id, name: $0.name, items: byList[$0.id] ?? []) }
    }
}

/// A database that is out of reach, or answered in a way the schema rules out.
public enum StoreError: Error, CustomStringConvertible {
    case missingVisitCounter
    case noRowReturned(String)
    case unreachable(String)

    public var description: String {
        switch self {
        case .missingVisitCounter: "the visit_counter row is missing: run `WebApp migrate`"
        case .noRowReturned(let statement): "\(statement) returned no row"
        case .unreachable(let reason): reason
        }
    }
}
