import Foundation
import Testing

@testable import DevLoop

/// Response bodies in their bounded buffer: a reader that walks away from a paused transfer leaves
/// nothing behind (no handle, no connection, no descriptor).
@Suite struct BodyBufferTests {
    static func openDescriptors() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
    }

    @Test(.timeLimit(.minutes(1))) func abandonedStreamsReleaseTheirTransfers() async throws {
        // Eight times the high watermark: every transfer pauses before its reader walks away.
        let chunk = Data(repeating: UInt8(ascii: "x"), count: 64 * 1024)
        let server = try await TestHTTPSServer(certificates: nil) { _ in
            TestResponse(headers: ["Content-Type": "text/plain"], chunks: Array(repeating: chunk, count: 64))
        }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let client = try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
        func readOneChunkAndLeave() async throws {
            let response = try await client.open("GET", "/api/v1/namespaces/dev/pods/web/log")
            var body = response.body.makeAsyncIterator()
            #expect(try await body.next()?.isEmpty == false)
        }
        // The first rounds fill the handle pool and the server's own connections.
        for _ in 0..<3 { try await readOneChunkAndLeave() }
        let before = try Self.openDescriptors()
        for _ in 0..<30 { try await readOneChunkAndLeave() }
        // A cancelled transfer's handle closes on its thread: allow it a moment, bounded.
        let deadline = ContinuousClock.now + .seconds(10)
        var grown = try Self.openDescriptors() - before
        while grown > 10, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            grown = try Self.openDescriptors() - before
        }
        await server.stop()
        #expect(grown <= 10, "30 abandoned streams left \(grown) descriptors open")
    }

    /// A request that fails before its response head (nothing listens) leaves nothing open either.
    @Test(.timeLimit(.minutes(1))) func failedRequestsReleaseTheirTransfers() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let port = freePort()
        let client = try KubeConfigFixture(server: "http://127.0.0.1:\(port)", in: folder).client()
        func failOnce() async {
            await #expect(throws: (any Error).self) { _ = try await client.open("GET", "/api/v1/namespaces") }
        }
        for _ in 0..<3 { await failOnce() }
        let before = try Self.openDescriptors()
        for _ in 0..<30 { await failOnce() }
        let deadline = ContinuousClock.now + .seconds(10)
        var grown = try Self.openDescriptors() - before
        while grown > 10, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            grown = try Self.openDescriptors() - before
        }
        #expect(grown <= 10, "30 failed requests left \(grown) descriptors open")
    }
}
