import DevLoop
import Foundation
import LockedValue
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Port-forward through our WebSocket client to a fake kubelet relaying to a real local HTTP server.
@Suite(.serialized) struct PortForwardTests {
    static let big = TestData.pattern(megabytes: 100)

    @Test func carriesConcurrentRequestsAndAHundredMegabytes() async throws {
        let big = Self.big
        let app = try await TestHTTPSServer(certificates: nil) { request in
            if request.path == "/big" { return TestResponse(status: 200, headers: [:], chunks: [big]) }
            return TestResponse(status: 200, headers: [:], chunks: [Data("answer for \(request.path)".utf8)])
        }
        let stopApp = { await app.stop() }
        try await StreamTests().withExecServer(supported: [], target: UInt16(app.port)) { client in
            let errors = Locked<[String]>([])
            let forwarder = try PortForwarder(client: client, namespace: "dev", pod: "web", remotePort: 8080) { error in
                errors.withLock { $0.append("\(error)") }
            }
            forwarder.start()
            defer { forwarder.stop() }
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpMaximumConnectionsPerHost = 100
            configuration.timeoutIntervalForRequest = 120
            let session = URLSession(configuration: configuration)
            let base = "http://127.0.0.1:\(forwarder.localPort)"
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<100 {
                    group.addTask {
                        let (data, _) = try await session.data(from: URL(string: "\(base)/n/\(index)")!)
                        return (index, String(decoding: data, as: UTF8.self))
                    }
                }
                return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
            }
            #expect(answers.count == 100)
            #expect((0..<100).allSatisfy { answers[$0] == "answer for /n/\($0)" })
            let started = ContinuousClock.now
            let (data, _) = try await session.data(from: URL(string: "\(base)/big")!)
            let elapsed = ContinuousClock.now - started
            #expect(data.count == big.count)
            #expect(data == big)
            print("port-forward: 100 MB in \(elapsed) (\(Double(100) / elapsed.seconds) MB/s)")
            #expect(errors.current.isEmpty)
        }
        await stopApp()
    }

    @Test func errorChannelMessageReachesTheUser() async throws {
        // Nothing listens on the target port: the fake kubelet reports it on the error channel.
        let closed = try await TestHTTPSServer(certificates: nil) { _ in .json("{}") }
        let port = UInt16(closed.port)
        await closed.stop()
        try await StreamTests().withExecServer(supported: [], target: port) { client in
            let errors = Locked<[String]>([])
            let forwarder = try PortForwarder(client: client, namespace: "dev", pod: "web", remotePort: 8080) { error in
                errors.withLock { $0.append("\(error)") }
            }
            forwarder.start()
            defer { forwarder.stop() }
            let session = URLSession(configuration: .ephemeral)
            _ = try? await session.data(from: URL(string: "http://127.0.0.1:\(forwarder.localPort)/")!)
            for _ in 0..<50 where errors.current.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            #expect(errors.current.contains { $0.contains("web:8080") && $0.contains("connection refused") })
        }
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
