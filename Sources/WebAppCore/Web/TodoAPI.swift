import Hummingbird

/// The JSON API: lists and their items.
struct TodoAPI: Sendable {
    let store: any TodoStore
    let body: RequestBodyDecoder

    func add(to router: Router<BasicRequestContext>) {
        router.get("lists", use: all)
        router.post("lists", use: create)
        router.get("lists/:id", use: show)
        router.delete("lists/:id", use: delete)
        router.post("lists/:id/items", use: addItem)
        router.patch("lists/:id/items/:item", use: updateItem)
        router.delete("lists/:id/items/:item", use: deleteItem)
    }

    @Sendable func all(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(try await store.allLists())
    }

    @Sendable func create(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let input = try await body.json(NewList.self, from: request)
        let name = try Validate.text(input.name, field: "name", maxLength: Validate.maxNameLength)
        let list = try await store.createList(name: name)
        var response = try JSONResponse.make(list, status: .created)
        response.headers[.location] = "/lists/\(list.id)"
        return response
    }

    @Sendable func show(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try Validate.id("id", in: context)
        guard let list = try await store.list(id: id) else { throw APIError.notFound("list", id: id) }
        return try JSONResponse.make(list)
    }

    @Sendable func delete(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try Validate.id("id", in: context)
        guard try await store.deleteList(id: id) else { throw APIError.notFound("list", id: id) }
        return Response(status: .noContent)
    }

    @Sendable func addItem(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let listId = try Validate.id("id", in: context)
        let input = try await body.json(NewItem.self, from: request)
        let title = try Validate.text(input.title, field: "title", maxLength: Validate.maxTitleLength)
        guard let item = try await store.addItem(title: title, toList: listId) else {
            throw APIError.notFound("list", id: listId)
        }
        return try JSONResponse.make(item, status: .created)
    }

    @Sendable func updateItem(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let (listId, itemId) = (try Validate.id("id", in: context), try Validate.id("item", in: context))
        let patch = try await body.json(ItemPatch.self, from: request)
        guard let item = try await store.setItem(id: itemId, inList: listId, done: patch.done) else {
            throw try await missing(itemId, inList: listId)
        }
        return try JSONResponse.make(item)
    }

    @Sendable func deleteItem(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let (listId, itemId) = (try Validate.id("id", in: context), try Validate.id("item", in: context))
        guard try await store.deleteItem(id: itemId, inList: listId) else {
            throw try await missing(itemId, inList: listId)
        }
        return Response(status: .noContent)
    }

    /// Says which of the two ids is unknown.
    private func missing(_ itemId: Int, inList listId: Int) async throws -> APIError {
        try await store.list(id: listId) == nil
            ? .notFound("list", id: listId) : .notFound("item", id: itemId)
    }
}
