import Foundation
import Hummingbird

/// The HTML page and the plain HTML forms behind it: each form posts, then redirects back to `/`
/// (post/redirect/get), so the page works in a browser without JavaScript.
struct PageRoutes: Sendable {
    let store: any TodoStore
    let renderer: TemplateRenderer
    let body: RequestBodyDecoder

    func add(to router: Router<BasicRequestContext>) {
        router.get("/", use: page)
        router.post("form/lists") { request, _ in
            try await submit {
                let input = try await body.form(NewList.self, from: request)
                _ = try await store.createList(
                    name: try Validate.text(input.name, field: "name", maxLength: Validate.maxNameLength))
            }
        }
        router.post("form/lists/:id/items") { request, context in
            try await submit {
                let listId = try Validate.id("id", in: context)
                let input = try await body.form(NewItem.self, from: request)
                let title = try Validate.text(input.title, field: "title", maxLength: Validate.maxTitleLength)
                guard try await store.addItem(title: title, toList: listId) != nil else {
                    throw APIError.notFound("list", id: listId)
                }
            }
        }
        router.post("form/lists/:id/items/:item/done") { request, context in
            try await submit {
                let patch = try await body.form(ItemPatch.self, from: request)
                let (listId, itemId) = (try Validate.id("id", in: context), try Validate.id("item", in: context))
                guard try await store.setItem(id: itemId, inList: listId, done: patch.done) != nil else {
                    throw APIError.notFound("item", id: itemId)
                }
            }
        }
        router.post("form/lists/:id/delete") { _, context in
            try await submit { _ = try await store.deleteList(id: try Validate.id("id", in: context)) }
        }
    }

    @Sendable func page(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let visits = try await store.recordVisit()
        let lists = try await store.allLists()
        let view = IndexView(visits: visits, lists: lists, error: request.uri.queryParameters.get("error"))
        do {
            let html = try await renderer.render(view, template: "index")
            return Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: html))
            )
        } catch let error as TemplateError {
            // Shown as is: during development this is the fastest way to see the broken line.
            return Response(
                status: .internalServerError,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "template error: \(error)\n"))
            )
        }
    }

    /// Runs a form action and redirects to `/`; a validation error travels to the page as `?error=`.
    private func submit(_ action: () async throws -> Void) async throws -> Response {
        var location = "/"
        do {
            try await action()
        } catch let error as APIError {
            var components = URLComponents()
            components.queryItems = [URLQueryItem(name: "error", value: error.message)]
            location = "/" + (components.string ?? "")
        }
        return Response(status: .seeOther, headers: [.location: location])
    }
}

/// What `index.mustache` sees.
struct IndexView: Sendable {
    struct List: Sendable {
        var id: Int
        var name: String
        var items: [TodoItem]
        var openCount: Int
    }

    var visits: Int
    var lists: [List]
    var error: String?
    var hasLists: Bool  // stored: Mustache sees stored properties only

    init(visits: Int, lists: [TodoList], error: String?) {
        self.visits = visits
        self.lists = lists.map { list in
            List(id: list.id, name: list.name, items: list.items, openCount: list.items.filter { !$0.done }.count)
        }
        self.error = error
        self.hasLists = !lists.isEmpty
    }
}
