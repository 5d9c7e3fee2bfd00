import Foundation
import HummingbirdTesting
import Testing
import WebAppCore

@Suite struct PageTests {
    @Test func pageCountsVisits() async throws {
        try await withTestApp { client async throws in
            let first = try await client.send(.get, "/")
            #expect(first.status == .ok)
            #expect(first.headers[.contentType] == "text/html; charset=utf-8")
            #expect(first.text.contains("This page has been seen 1 times."))
            #expect(first.text.contains("No lists yet."))
            #expect(try await client.send(.get, "/").text.contains("This page has been seen 2 times."))
            // Only the page counts: the API and the probes do not.
            _ = try await client.send(.get, "/lists")
            _ = try await client.send(.get, "/health")
            #expect(try await client.send(.get, "/").text.contains("This page has been seen 3 times."))
        }
    }

    @Test func pageShowsListsAndItemsAddedThroughTheAPI() async throws {
        try await withTestApp { client async throws in
            let list = try await client.send(.post, "/lists", json: #"{"name": "<script>alert(1)</script>"}"#)
                .json(TodoList.self)
            _ = try await client.send(.post, "/lists/\(list.id)/items", json: #"{"title": "Tom & Jerry"}"#)
            let html = try await client.send(.get, "/").text
            // Escaped, never executed.
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!html.contains("<script>"))
            #expect(html.contains("Tom &amp; Jerry"))
            #expect(html.contains(#"id="list-\#(list.id)""#))
            #expect(html.contains("1 open"))
            #expect(!html.contains("No lists yet."))
        }
    }

    @Test func formsWorkWithoutJavaScript() async throws {
        try await withTestApp { client async throws in
            let added = try await client.submit("/form/lists", ["name": "Weekend"])
            #expect(added.status == .seeOther)
            #expect(added.headers[.location] == "/")
            let list = try #require(try await client.send(.get, "/lists").json([TodoList].self).first)
            #expect(list.name == "Weekend")

            #expect(
                try await client.submit("/form/lists/\(list.id)/items", ["title": "Hike & swim"]).status == .seeOther)
            let item = try #require(try await client.send(.get, "/lists/\(list.id)").json(TodoList.self).items.first)
            #expect(item.title == "Hike & swim")
            #expect(try await client.send(.get, "/").text.contains("Hike &amp; swim"))

            _ = try await client.submit("/form/lists/\(list.id)/items/\(item.id)/done", ["done": "true"])
            #expect(try await client.send(.get, "/lists/\(list.id)").json(TodoList.self).items.first?.done == true)
            #expect(try await client.send(.get, "/").text.contains(#"class="done" id="item-\#(item.id)""#))
            _ = try await client.submit("/form/lists/\(list.id)/items/\(item.id)/done", ["done": "false"])
            #expect(try await client.send(.get, "/lists/\(list.id)").json(TodoList.self).items.first?.done == false)

            #expect(try await client.submit("/form/lists/\(list.id)/delete", [:]).status == .seeOther)
            #expect(try await client.send(.get, "/lists").json([TodoList].self).isEmpty)
        }
    }

    @Test func invalidFormInputRedirectsWithTheErrorShownOnThePage() async throws {
        try await withTestApp { client async throws in
            let response = try await client.submit("/form/lists", ["name": "   "])
            #expect(response.status == .seeOther)
            let location = try #require(response.headers[.location])
            #expect(location.hasPrefix("/?error="))
            #expect(try await client.send(.get, location).text.contains("name: must not be empty"))

            let missing = try await client.submit("/form/lists/999/items", ["title": "x"])
            let page = try await client.send(.get, try #require(missing.headers[.location]))
            #expect(page.text.contains("list 999 not found"))
            #expect(try await client.send(.get, "/lists").json([TodoList].self).isEmpty)
        }
    }
}
