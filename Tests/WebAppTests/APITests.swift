import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import WebAppCore

@Suite struct APITests {
    @Test func listLifecycle() async throws {
        try await withTestApp { client async throws in
            let created = try await client.send(.post, "/lists", json: #"{"name": "  Groceries  "}"#)
            #expect(created.status == .created)
            let list = try created.json(TodoList.self)
            #expect(list.name == "Groceries")
            #expect(created.headers[.location] == "/lists/\(list.id)")
            #expect(created.headers[.contentType]?.hasPrefix("application/json") == true)

            let item = try await client.send(.post, "/lists/\(list.id)/items", json: #"{"title": "Milk"}"#)
            #expect(item.status == .created)
            let milk = try item.json(TodoItem.self)
            #expect(milk.title == "Milk" && milk.done == false && milk.listId == list.id)

            let patched = try await client.send(.patch, "/lists/\(list.id)/items/\(milk.id)", json: #"{"done": true}"#)
            #expect(patched.status == .ok)
            #expect(try patched.json(TodoItem.self).done == true)

            let all = try await client.send(.get, "/lists")
            #expect(
                try all.json([TodoList].self) == [
                    TodoList(id: list.id, name: "Groceries", items: [try patched.json(TodoItem.self)])
                ]
            )
            #expect(try await client.send(.get, "/lists/\(list.id)").json(TodoList.self).items.map(\.done) == [true])

            #expect(try await client.send(.delete, "/lists/\(list.id)/items/\(milk.id)").status == .noContent)
            #expect(try await client.send(.get, "/lists/\(list.id)").json(TodoList.self).items.isEmpty)
            #expect(try await client.send(.delete, "/lists/\(list.id)").status == .noContent)
            #expect(try await client.send(.get, "/lists").json([TodoList].self).isEmpty)
        }
    }

    @Test func unknownIdsAre404NamingWhatIsMissing() async throws {
        try await withTestApp { client async throws in
            let list = try await client.send(.post, "/lists", json: #"{"name": "A"}"#).json(TodoList.self)
            let cases: [(HTTPRequest.Method, String, String?, String)] = [
                (.get, "/lists/4242", nil, "list 4242 not found"),
                (.delete, "/lists/4242", nil, "list 4242 not found"),
                (.post, "/lists/4242/items", #"{"title": "x"}"#, "list 4242 not found"),
                (.patch, "/lists/4242/items/1", #"{"done": true}"#, "list 4242 not found"),
                (.patch, "/lists/\(list.id)/items/77", #"{"done": true}"#, "item 77 not found"),
                (.delete, "/lists/\(list.id)/items/77", nil, "item 77 not found"),
                (.delete, "/lists/4242/items/77", nil, "list 4242 not found"),
            ]
            for (method, uri, body, message) in cases {
                let response = try await client.send(method, uri, json: body)
                #expect(response.status == .notFound, "\(method) \(uri)")
                #expect(response.apiError?["error"] == message, "\(method) \(uri): \(response.text)")
            }
        }
    }

    /// A bad `POST /lists` body and the answer it must get.
    struct BadBody: Sendable, CustomTestStringConvertible {
        var body: String
        var status: Int
        var field: String?
        var message: String
        var testDescription: String { "\(body.prefix(30)) -> \(status)" }
    }

    static let badBodies = [
        BadBody(body: #"{"name": "A""#, status: 400, field: nil, message: "body: malformed JSON"),
        BadBody(body: "", status: 400, field: nil, message: "body: malformed JSON"),
        BadBody(body: "not json", status: 400, field: nil, message: "body: malformed JSON"),
        BadBody(body: #"["name"]"#, status: 400, field: nil, message: "body: must be a JSON object"),
        BadBody(body: "42", status: 400, field: nil, message: "body: must be a JSON object"),
        BadBody(
            body: String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000), status: 400,
            field: nil, message: "body: malformed JSON"),
        BadBody(body: #"{"name": "\ud800"}"#, status: 400, field: nil, message: "body: malformed JSON"),
        BadBody(body: "{}", status: 422, field: "name", message: "name: is required"),
        BadBody(body: #"{"nam": "typo"}"#, status: 422, field: "name", message: "name: is required"),
        BadBody(body: #"{"name": 5}"#, status: 422, field: "name", message: "name: must be a string"),
        BadBody(body: #"{"name": null}"#, status: 422, field: "name", message: "name: must be a string, not null"),
        BadBody(body: #"{"name": "   "}"#, status: 422, field: "name", message: "name: must not be empty"),
        BadBody(
            body: #"{"name": "\#(String(repeating: "x", count: 201))"}"#, status: 422, field: "name",
            message: "name: must be at most 200 characters"),
    ]

    @Test(arguments: badBodies)
    func invalidListBodies(_ bad: BadBody) async throws {
        try await withTestApp { client async throws in
            let response = try await client.send(.post, "/lists", json: bad.body)
            #expect(response.status.code == bad.status)
            #expect(response.apiError?["error"] == bad.message, "\(response.text)")
            #expect(response.apiError?["field"] == bad.field)
            #expect(try await client.send(.get, "/lists").json([TodoList].self).isEmpty)
        }
    }

    @Test func invalidItemBodiesNameTheirField() async throws {
        try await withTestApp { client async throws in
            let list = try await client.send(.post, "/lists", json: #"{"name": "A"}"#).json(TodoList.self)
            let empty = try await client.send(.post, "/lists/\(list.id)/items", json: #"{"title": ""}"#)
            #expect(empty.status == .unprocessableContent)
            #expect(empty.apiError?["field"] == "title")
            let item = try await client.send(.post, "/lists/\(list.id)/items", json: #"{"title": "t"}"#)
                .json(TodoItem.self)
            for body in [#"{"done": "yes"}"#, #"{"done": 1}"#, "{}"] {
                let response = try await client.send(.patch, "/lists/\(list.id)/items/\(item.id)", json: body)
                #expect(response.status == .unprocessableContent, "\(body)")
                #expect(response.apiError?["field"] == "done", "\(body): \(response.text)")
            }
        }
    }

    @Test(arguments: ["/lists/abc", "/lists/0", "/lists/-3", "/lists/99999999999999999999999"])
    func nonNumericIdsAre400(uri: String) async throws {
        try await withTestApp { client async throws in
            let response = try await client.send(.get, uri)
            #expect(response.status == .badRequest)
            #expect(response.apiError?["field"] == "id")
        }
    }

    @Test func oversizedBodiesAreRefusedAndTheServerCarriesOn() async throws {
        try await withTestApp { client async throws in
            let huge = #"{"name": "\#(String(repeating: "a", count: WebAppServer.maxBodyBytes))"}"#
            let response = try await client.send(.post, "/lists", json: huge)
            #expect(response.status == .contentTooLarge)
            #expect(response.apiError?["error"] == "body: larger than \(WebAppServer.maxBodyBytes) bytes")
            #expect(try await client.send(.post, "/lists", json: #"{"name": "after"}"#).status == .created)
            #expect(try await client.send(.get, "/health").status == .ok)
        }
    }

    @Test func unknownRoutesAre404() async throws {
        try await withTestApp { client async throws in
            let unknown = try await client.send(.get, "/nope")
            #expect(unknown.status == .notFound)
            let wrongMethod = try await client.send(.put, "/lists")
            #expect(wrongMethod.status == .notFound || wrongMethod.status == .methodNotAllowed)
        }
    }
}
