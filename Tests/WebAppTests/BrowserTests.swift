import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import WebAppCore

/// The page in a real browser: Debian's headless Chromium against the built `WebApp` on 127.0.0.1.
/// The screenshot lands in `.build/webapp-screenshot.png` for a person to look at.
@Suite(.serialized) struct BrowserTests {
    static let screenshot = packageRoot + "/.build/webapp-screenshot.png"

    @Test func chromiumShowsTheCounterAndAListAddedThroughTheAPI() async throws {
        let data = try TemporaryDirectory("webapp-browser")
        defer { data.remove() }
        let server = try ChildProcess(
            webAppExecutable,
            environment: ["HOST": "127.0.0.1", "PORT": "0", "DATA_DIR": data.path, "MIGRATE_ON_START": "1"])
        defer { server.stop() }
        let port = try #require(Int(try await server.waitForOutput(#"listening on http://127\.0\.0\.1:(\d+)"#)))
        let page = "http://127.0.0.1:\(port)/"

        try await TestClient.withClient(host: "127.0.0.1", port: port) { client async throws in
            let list = try await client.post("/lists", body: ByteBuffer(string: #"{"name": "Groceries from the API"}"#))
            #expect(list.status == .created)
            let id = try JSONDecoder().decode(TodoList.self, from: Data(String(buffer: list.body!).utf8)).id
            let item = try await client.post("/lists/\(id)/items", body: ByteBuffer(string: #"{"title": "Oat milk"}"#))
            #expect(item.status == .created)
        }

        let firstDOM = try await Self.chromium(["--dump-dom", page], profile: data.file("chromium"))
        #expect(firstDOM.contains("Groceries from the API"), "\(firstDOM)")
        #expect(firstDOM.contains("Oat milk"))
        let firstCount = try #require(Self.counter(in: firstDOM), "no counter in the DOM:\n\(firstDOM)")
        #expect(firstCount >= 1)

        try? FileManager.default.removeItem(atPath: Self.screenshot)
        _ = try await Self.chromium(
            ["--screenshot=\(Self.screenshot)", "--window-size=1024,768", page], profile: data.file("chromium"))
        let png = try #require(FileManager.default.contents(atPath: Self.screenshot), "no screenshot written")
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
        #expect(png.count > 10_000, "suspiciously small screenshot: \(png.count) bytes")

        // Each load is a visit: the counter the browser sees keeps growing.
        let secondDOM = try await Self.chromium(["--dump-dom", page], profile: data.file("chromium"))
        #expect(try #require(Self.counter(in: secondDOM)) > firstCount)

        server.signal(SIGTERM)
        #expect(try await server.waitForExit(timeout: .seconds(30)) == 0)
        // One log line per request: method, path, status, duration.
        #expect(server.stdout.range(of: #"POST /lists 201 \d+\.\dms"#, options: .regularExpression) != nil)
        #expect(server.stdout.range(of: #"GET / 200 \d+\.\dms"#, options: .regularExpression) != nil)
    }

    static func counter(in html: String) -> Int? {
        guard let range = html.range(of: #"seen \d+ times"#, options: .regularExpression) else { return nil }
        return Int(html[range].split(separator: " ")[1])
    }

    /// Runs headless Chromium once and returns its stdout. Everything that could reach beyond loopback
    /// (proxies, component updates, background fetches) is switched off.
    static func chromium(_ arguments: [String], profile: String) async throws -> String {
        guard
            let executable = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw TestSetupError("Chromium is not installed: run dev/setup.sh (it installs Debian's chromium)")
        }
        let flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-proxy-server", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions", "--no-first-run",
            "--disable-dev-shm-usage", "--user-data-dir=\(profile)", "--hide-scrollbars",
        ]
        let browser = try ChildProcess(executable, flags + arguments, environment: ["HOME": profile])
        let status = try await browser.waitForExit(timeout: .seconds(120))
        guard status == 0 else {
            throw TestSetupError("chromium exited with \(status):\n\(browser.stderr.suffix(2000))")
        }
        return browser.stdout
    }
}
