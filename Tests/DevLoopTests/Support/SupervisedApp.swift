import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The repository's root, for dev/supervisor.sh and dev/k8s.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// A tiny app run under dev/supervisor.sh in the tests: its "build" copies source.txt to message (and
/// fails with a compiler-like error when source.txt says BROKEN); its server answers every request with
/// the message it read when it started, and exits with status 3 on /crash.
enum SupervisedApp {
    static let build = "sh build.sh"
    static let run = "exec python3 -u serve.py"

    static let buildScript = """
        if grep -q BROKEN source.txt; then echo "source.txt:1:1: error: the source is broken" >&2; exit 1; fi
        echo "compiled source.txt"
        cp source.txt message

        """

    static let server = """
        import http.server, os
        message = open("message").read().strip()
        port = int(os.environ.get("PORT", "8080"))
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/crash":
                    print("crashing on request", flush=True)
                    os._exit(3)
                body = message.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        server = http.server.HTTPServer((os.environ.get("HOST", "0.0.0.0"), port), Handler)
        print(f"serving {message} on {port}", flush=True)
        server.serve_forever()

        """

    /// Writes the app's files, with `message` as the source, into `folder`.
    static func write(to folder: URL, message: String) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(buildScript.utf8).write(to: folder.appendingPathComponent("build.sh"))
        try Data(server.utf8).write(to: folder.appendingPathComponent("serve.py"))
        try setSource(message, in: folder)
    }

    static func setSource(_ message: String, in folder: URL) throws {
        try Data((message + "\n").utf8).write(to: folder.appendingPathComponent("source.txt"))
    }
}

/// One GET with a short timeout: the body, or nil when nothing answered.
func fetchBody(_ url: String, timeout: TimeInterval = 5) async -> String? {
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = timeout
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = timeout
    let session = URLSession(configuration: configuration)
    defer { session.finishTasksAndInvalidate() }
    guard let (data, response) = try? await session.data(for: request),
        (response as? HTTPURLResponse)?.statusCode == 200
    else { return nil }
    return String(decoding: data, as: UTF8.self)
}

/// Polls `url` until it answers `body`; the last answer (or nil) otherwise.
@discardableResult
func waitForBody(_ url: String, _ body: String, timeout: Duration) async -> String? {
    let deadline = ContinuousClock.now + timeout
    var last: String?
    while ContinuousClock.now < deadline {
        last = await fetchBody(url)
        if last == body { return last }
        try? await Task.sleep(for: .milliseconds(200))
    }
    return last
}
