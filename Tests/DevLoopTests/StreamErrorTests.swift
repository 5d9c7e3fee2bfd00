import Foundation
import LockedValue
import Testing

@testable import DevLoop

/// Errors of the long-lived streams (watch, log follow): permanent ones end the stream with the
/// client's message within a bound, transient ones retry and are reported once per outage.
@Suite struct StreamErrorTests {
    /// The first element or error of `stream`, or a failure when neither comes within `limit`.
    static func firstOutcome<Element: Sendable>(
        of stream: AsyncThrowingStream<Element, Error>, within limit: Duration = .seconds(15)
    ) async -> Result<Element?, Error> {
        await withTaskGroup(of: Result<Element?, Error>?.self) { group in
            group.addTask {
                do {
                    var iterator = stream.makeAsyncIterator()
                    return .success(try await iterator.next())
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(StreamTimeout())
        }
    }

    struct StreamTimeout: Error {}

    static func withServer(
        tls: Bool, handler: @escaping @Sendable (TestRequest) -> TestResponse,
        _ body: (TestHTTPSServer, TestCertificates?, TemporaryDirectory) async throws -> Void
    ) async throws {
        let pki = tls ? try await TestCertificates.make() : nil
        let folder = try TemporaryDirectory()
        let server = try await TestHTTPSServer(certificates: pki, handler: handler)
        do {
            try await body(server, pki, folder)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        pki?.remove()
        folder.remove()
    }

    static func untrustedClient(_ server: TestHTTPSServer, _ pki: TestCertificates?, _ folder: TemporaryDirectory)
        throws -> KubeClient
    {
        try KubeConfigFixture(
            server: server.url, cluster: ["certificate-authority: \(pki!.otherCACert.path)"], in: folder
        ).client()
    }

    static func plainClient(_ server: TestHTTPSServer, _ folder: TemporaryDirectory) throws -> KubeClient {
        try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
    }

    static let forbidden = TestResponse.status(
        403, reason: "Forbidden", message: "pods is forbidden: User \\\"dev\\\" cannot list resource \\\"pods\\\"")

    @Test func aWatchEndsOnAnUntrustedCertificate() async throws {
        try await Self.withServer(tls: true, handler: FakeAPI.handler()) { server, pki, folder in
            let watcher = ResourceWatcher(
                client: try Self.untrustedClient(server, pki, folder), path: "/api/v1/namespaces/dev/pods")
            let outcome = await Self.firstOutcome(of: watcher.events())
            guard case .failure(let error as CurlError) = outcome else {
                Issue.record("expected the certificate error, got \(outcome)")
                return
            }
            #expect(error.isUntrustedCertificate)
            #expect("\(error)".contains("certificate was not trusted"))
        }
    }

    @Test func aLogFollowEndsOnAnUntrustedCertificate() async throws {
        try await Self.withServer(tls: true, handler: FakeAPI.handler()) { server, pki, folder in
            let follower = LogFollower(
                client: try Self.untrustedClient(server, pki, folder), namespace: "dev", pod: "web", container: "app")
            let outcome = await Self.firstOutcome(of: follower.lines())
            guard case .failure(let error as CurlError) = outcome else {
                Issue.record("expected the certificate error, got \(outcome)")
                return
            }
            #expect(error.isUntrustedCertificate)
        }
    }

    @Test func aWatchEndsOnForbidden() async throws {
        try await Self.withServer(tls: false, handler: { _ in Self.forbidden }) { server, _, folder in
            let watcher = ResourceWatcher(
                client: try Self.plainClient(server, folder), path: "/api/v1/namespaces/dev/pods")
            let outcome = await Self.firstOutcome(of: watcher.events())
            guard case .failure(let error as KubeClientError) = outcome else {
                Issue.record("expected 403, got \(outcome)")
                return
            }
            #expect(error.statusCode == 403)
            #expect("\(error)".contains("forbidden: you may not list pods"), "\(error)")
        }
    }

    /// A follow that is refused mid-way (the RoleBinding was removed) ends instead of retrying for ever.
    @Test func aLogFollowEndsOnForbidden() async throws {
        let pod =
            #"{"kind":"Pod","metadata":{"name":"web"},"status":{"containerStatuses":[{"name":"app","restartCount":0}]}}"#
        try await Self.withServer(tls: false) { request in
            request.path.hasSuffix("/log") ? Self.forbidden : .json(pod)
        } _: { server, _, folder in
            let follower = LogFollower(
                client: try Self.plainClient(server, folder), namespace: "dev", pod: "web", container: "app")
            let outcome = await Self.firstOutcome(of: follower.lines())
            guard case .failure(let error as KubeClientError) = outcome else {
                Issue.record("expected 403, got \(outcome)")
                return
            }
            #expect(error.statusCode == 403)
        }
    }

    /// A server that answers 503 for a while: the watch waits it out and says so once, not per retry.
    @Test func anOutageIsReportedOnceAndTheWatchResumes() async throws {
        let requests = Locked(0)
        try await Self.withServer(tls: false) { request in
            let count = requests.withLock {
                $0 += 1
                return $0
            }
            if count <= 4 { return .status(503, reason: "ServiceUnavailable", message: "apiserver is restarting") }
            if request.values("watch") == ["1"] { return TestResponse(chunks: [], cut: true) }
            return .json(#"{"kind":"PodList","metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"a"}}]}"#)
        } _: { server, _, folder in
            let reports = Locked<[String]>([])
            var watcher = ResourceWatcher(
                client: try Self.plainClient(server, folder), path: "/api/v1/namespaces/dev/pods")
            watcher.retryDelay = .milliseconds(20)
            watcher.maximumRetryDelay = .milliseconds(80)
            watcher.onHealth = { health in
                reports.withLock {
                    switch health {
                    case .interrupted(let error): $0.append("interrupted: \(error)")
                    case .resumed: $0.append("resumed")
                    }
                }
            }
            let outcome = await Self.firstOutcome(of: watcher.events())
            guard case .success(let event?) = outcome else {
                Issue.record("expected an event, got \(outcome)")
                return
            }
            #expect(event.object[path: "metadata", "name"]?.string == "a")
            #expect(requests.current >= 5)
            // Four refused requests, one report; the watch goes on meanwhile (its cut watches are later outages).
            let seen = reports.current
            #expect(seen.count >= 2, "\(seen)")
            #expect(seen.first?.contains("HTTP 503") == true, "\(seen)")
            #expect(seen.dropFirst().first == "resumed", "\(seen)")
        }
    }

    @Test func backOffGrowsToItsCapWithJitter() {
        var backoff = RetryBackoff(initial: .milliseconds(100), maximum: .milliseconds(800))
        let waits = (0..<6).map { _ in backoff.next() }
        let steps: [Duration] = [100, 200, 400, 800, 800, 800].map { .milliseconds($0) }
        for (wait, step) in zip(waits, steps) {
            #expect(wait <= step && wait >= step / 2, "\(waits)")
        }
        backoff.reset()
        #expect(backoff.next() <= .milliseconds(100))
    }

    /// A name that makes no URL is an error naming it, and nothing is sent.
    @Test func aNameThatMakesNoURLIsAnErrorNamingIt() async throws {
        let requests = Locked(0)
        try await Self.withServer(tls: false) { request in
            requests.withLock { $0 += 1 }
            return FakeAPI.handler()(request)
        } _: { server, _, folder in
            let client = try Self.plainClient(server, folder)
            for name in ["we b", "web#x", "web?watch=1", "wéb"] {
                let error = await #expect(throws: KubeClientError.self) {
                    try await client.get("/api/v1/namespaces/dev/pods/\(name)")
                }
                #expect(error.map { "\($0)" }?.contains("\"\(name)\"") == true, "\(String(describing: error))")
            }
            #expect(requests.current == 0)
            _ = try await client.serverVersion()
            #expect(requests.current == 1)
        }
    }

    /// A login page from a proxy with 200 is not a DecodingError dump.
    @Test(arguments: [
        (
            "text/html", "<html><head><title>Sign in - Corp Proxy</title></head><body>...</body></html>",
            "Sign in - Corp Proxy"
        ),
        ("text/plain", "upstream connect error or disconnect/reset before headers\nmore", "upstream connect error"),
    ])
    func aNonJSONAnswerSaysSo(contentType: String, body: String, excerpt: String) async throws {
        try await Self.withServer(tls: false) { _ in
            TestResponse(status: 200, headers: ["Content-Type": contentType], chunks: [Data(body.utf8)])
        } _: { server, _, folder in
            let client = try Self.plainClient(server, folder)
            let error = await #expect(throws: KubeClientError.self) {
                try await client.get("/api/v1/namespaces/dev/pods")
            }
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains("the server answered HTTP 200"), "\(message)")
            #expect(message.contains("(not Kubernetes JSON)"), "\(message)")
            #expect(message.contains(excerpt), "\(message)")
            #expect(!message.contains("DecodingError") && !message.contains("<body>"), "\(message)")
        }
    }

    /// A 1.25 kubelet answers a WebSocket subprotocol it does not know with a bare 403: that is no RBAC
    /// denial, and the message says which protocols were offered. A Status with reason Forbidden is one.
    @Test func aBare403IsNotReadAsAnRBACDenial() async throws {
        try await Self.withServer(tls: false) { request in
            if request.path.contains("/pods/locked/") { return Self.forbidden }
            return TestResponse(status: 403, headers: [:], chunks: [])
        } _: { server, _, folder in
            let client = try Self.plainClient(server, folder)
            let protocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
            let bare = await #expect(throws: KubeClientError.self) {
                _ = try await client.webSocket(
                    "/api/v1/namespaces/dev/pods/web/exec", query: [("command", "ls")], protocols: protocols)
            }
            let text = bare.map { "\($0)" } ?? ""
            #expect(text.contains("not an RBAC denial"), "\(text)")
            #expect(text.contains("offered: v5.channel.k8s.io, v4.channel.k8s.io"), "\(text)")
            #expect(!text.contains("ask a cluster admin"), "\(text)")
            let denied = await #expect(throws: KubeClientError.self) {
                _ = try await client.webSocket(
                    "/api/v1/namespaces/dev/pods/locked/exec", query: [("command", "ls")], protocols: protocols)
            }
            #expect(denied?.statusCode == 403)
            #expect(denied.map { "\($0)" }?.contains("ask a cluster admin for RBAC permission") == true)
            let plain = await #expect(throws: KubeClientError.self) {
                try await client.get("/api/v1/namespaces/dev/pods")
            }
            #expect(plain.map { "\($0)" }?.contains("not an RBAC denial") == true, "\(String(describing: plain))")
        }
    }

    /// The library reports through errors, events and its logger: nothing in it writes to stderr.
    @Test func theLibraryNeverWritesToStderr() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/DevLoop")
        let files =
            FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        #expect(files.count > 20)
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for banned in ["FileHandle.standardError", "fputs(", "print(", "FileHandle.standardOutput"] {
                #expect(!text.contains(banned), "\(file.lastPathComponent) uses \(banned)")
            }
        }
    }
}
