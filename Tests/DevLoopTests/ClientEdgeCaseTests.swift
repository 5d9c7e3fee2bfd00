import Foundation
import LockedValue
import Testing

@testable import DevLoop

/// Smaller real-world cases: error pages from proxies, CRDs that are not installed, IPv6 servers and
/// very long lines.
@Suite struct ClientEdgeCaseTests {
    func withServer(
        _ handler: @escaping @Sendable (TestRequest) -> TestResponse, _ body: (KubeClient) async throws -> Void
    ) async throws {
        let server = try await TestHTTPSServer(certificates: nil, handler: handler)
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        do {
            try await body(try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client())
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func anHTMLErrorPageIsSummedUpNotPrinted() async throws {
        let page = "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>" + String(repeating: "x", count: 2000)
        try await withServer({ _ in
            TestResponse(status: 502, headers: ["Content-Type": "text/html"], chunks: [Data(page.utf8)])
        }) { client in
            let error = await #expect(throws: KubeClientError.self) {
                try await client.get("/api/v1/namespaces/dev/pods")
            }
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains("HTTP 502"), "\(message)")
            #expect(message.contains("page \"502 Bad Gateway\""), "\(message)")
            #expect(message.contains("other than the API server"), "\(message)")
            #expect(!message.contains("<html") && message.count < 300, "\(message)")
        }
    }

    /// API Priority and Fairness answers 429 with Retry-After on a busy cluster: client-go waits and retries.
    @Test func retryAfterIsObeyedOnTooManyRequests() async throws {
        let requests = Locked(0)
        try await withServer({ request in
            let count = requests.withLock {
                $0 += 1; return $0
            }
            if request.path == "/version", count <= 2 {
                var busy = TestResponse.status(429, reason: "TooManyRequests", message: "too many requests")
                busy.headers["Retry-After"] = "0"
                return busy
            }
            if request.path == "/api" { return .status(429, reason: "TooManyRequests", message: "no Retry-After") }
            return FakeAPI.handler()(request)
        }) { client in
            let version = try await client.serverVersion()
            #expect(version == "v1.30.0-fake")
            #expect(requests.current == 3)
            let error = await #expect(throws: KubeClientError.self) { try await client.get("/api") }
            #expect(error?.statusCode == 429)
            #expect(requests.current == 4)
        }
    }

    @Test func aKindOfAGroupTheServerDoesNotServeIsUnknown() async throws {
        try await withServer(FakeAPI.handler()) { client in
            let error = await #expect(throws: ManifestError.self) {
                try await ResourceResolver(client: client).resolve(apiVersion: "example.com/v1", kind: "Widget")
            }
            #expect(error == .unknownKind(kind: "Widget", apiVersion: "example.com/v1"))
            #expect(error.map { "\($0)" }?.contains("is its CRD installed?") == true)
        }
    }

    @Test func ipv6ServersAreBracketedInTheHostHeader() {
        let handshake = WebSocketHandshake(
            url: URL(string: "https://[fd00::10]:6443/api/v1/namespaces/dev/pods/web/exec")!, headers: [:],
            protocols: ["v4.channel.k8s.io"])
        let request = String(decoding: handshake.requestBytes, as: UTF8.self)
        #expect(request.contains("\r\nHost: [fd00::10]:6443\r\n"), "\(request)")
        #expect(URL.bracketed("10.0.0.1") == "10.0.0.1" && URL.bracketed("::1") == "[::1]")
    }

    @Test func aLongLineInSmallChunksIsSplitInLinearTime() {
        let long = Data(repeating: UInt8(ascii: "a"), count: 8 << 20)
        let stream = Data("first\n".utf8) + long + Data("\nlast\r\nrest".utf8)
        var splitter = LineSplitter()
        var lines: [Data] = []
        let started = ContinuousClock.now
        var offset = 0
        while offset < stream.count {
            let end = min(offset + 1024, stream.count)
            lines += splitter.push(stream[offset..<end])
            offset = end
        }
        print("line splitter: an 8 MB line in 1 KB chunks in \(ContinuousClock.now - started)")
        #expect(lines.map(\.count) == [5, long.count, 4])
        #expect(lines[1] == long)
        #expect(splitter.finish() == Data("rest".utf8))
    }
}
