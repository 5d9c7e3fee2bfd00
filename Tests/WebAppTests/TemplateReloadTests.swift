import Foundation
import HummingbirdTesting
import Testing

@testable import WebAppCore

/// Hot reload works on a copy of the real templates in a temp folder, edited between two requests.
@Suite struct TemplateReloadTests {
    static let greeting = "Hello from WebApp!"

    /// Copies the bundled templates into a fresh folder.
    static func copyOfTemplates() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory("webapp-templates")
        for name in ["index.mustache", "list.mustache"] {
            try FileManager.default.copyItem(
                atPath: TemplateLocator.bundledDirectory + "/" + name, toPath: directory.file(name))
        }
        return directory
    }

    static func edit(_ file: String, replacing old: String, with new: String) throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try #require(text.contains(old), "\(file) does not contain \(old)")
        try text.replacingOccurrences(of: old, with: new).write(toFile: file, atomically: false, encoding: .utf8)
    }

    @Test func withReloadAnEditShowsOnTheNextRequest() async throws {
        let templates = try Self.copyOfTemplates()
        defer { templates.remove() }
        try await withTestApp(templates: templates.path, reload: true) { client async throws in
            #expect(try await client.send(.get, "/").text.contains(Self.greeting))

            try Self.edit(templates.file("index.mustache"), replacing: Self.greeting, with: "Hot reloaded greeting")
            let edited = try await client.send(.get, "/").text
            #expect(edited.contains("Hot reloaded greeting"))
            #expect(!edited.contains(Self.greeting))

            // Same length, same second: the modification time alone tells the versions apart.
            try Self.edit(
                templates.file("index.mustache"), replacing: "Hot reloaded greeting", with: "Hot reloaded greetinG")
            #expect(try await client.send(.get, "/").text.contains("Hot reloaded greetinG"))

            // A partial is reloaded too.
            _ = try await client.send(.post, "/lists", json: #"{"name": "L"}"#)
            try Self.edit(templates.file("list.mustache"), replacing: "open</p>", with: "still to do</p>")
            #expect(try await client.send(.get, "/").text.contains("0 still to do"))
        }
    }

    @Test func withReloadABrokenTemplateNamesTheFileUntilItIsFixed() async throws {
        let templates = try Self.copyOfTemplates()
        defer { templates.remove() }
        try await withTestApp(templates: templates.path, reload: true) { client async throws in
            try Self.edit(templates.file("index.mustache"), replacing: "{{visits}}", with: "{{#visits}}")
            let broken = try await client.send(.get, "/")
            #expect(broken.status == .internalServerError)
            #expect(broken.text.contains("index.mustache"))

            try Self.edit(templates.file("index.mustache"), replacing: "{{#visits}}", with: "{{visits}}")
            let fixed = try await client.send(.get, "/")
            #expect(fixed.status == .ok)
            #expect(fixed.text.contains("seen 2 times"))
        }
    }

    @Test func withoutReloadTemplatesAreReadOnceAtStart() async throws {
        let templates = try Self.copyOfTemplates()
        defer { templates.remove() }
        try await withTestApp(templates: templates.path, reload: false) { client async throws in
            #expect(try await client.send(.get, "/").text.contains(Self.greeting))
            try Self.edit(templates.file("index.mustache"), replacing: Self.greeting, with: "Not picked up")
            let page = try await client.send(.get, "/").text
            #expect(page.contains(Self.greeting))
            #expect(!page.contains("Not picked up"))
        }
    }

    @Test func locatorPrefersTheSourceFolderOnlyWhenReloading() throws {
        #expect(TemplateLocator.directory(configured: "/custom", reload: true) == "/custom")
        #expect(TemplateLocator.directory(configured: nil, reload: false) == TemplateLocator.bundledDirectory)
        // Tests run from a source tree: with reload the live source templates win over the bundled copy.
        let source = try #require(TemplateLocator.sourceDirectories().last)
        #expect(source == packageRoot + "/Sources/WebAppCore/Templates")
        #expect(TemplateLocator.directory(configured: nil, reload: true).hasSuffix("/Sources/WebAppCore/Templates"))
    }
}
