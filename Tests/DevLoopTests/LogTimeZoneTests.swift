import Foundation
import LockedValue
import Testing

@testable import DevLoop

/// Kubelets keep the offset of the runtime's timestamp (containerd writes local time, CRI-O `%:z`):
/// on a node whose time zone is not UTC every log line carries `+hh:mm`, and must still be shown.
@Suite struct LogTimeZoneTests {
    @Test func offsetsAreComparedAsInstants() throws {
        let plus = try #require(LogTimestamp("2026-11-21T23:01:02.5+01:00"))
        let utc = try #require(LogTimestamp("2026-11-21T22:01:02.500000000Z"))
        let minus = try #require(LogTimestamp("2026-11-21T16:31:02.500000001-05:30"))
        #expect(plus == utc)
        #expect(minus > utc && minus.nanoseconds == 500_000_001 && minus.seconds == utc.seconds)
        #expect(plus.sinceTime == "2026-11-21T22:01:02Z")
        #expect(try #require(LogTimestamp("2026-01-01T00:30:00+01:00")).sinceTime == "2025-12-31T23:30:00Z")
        #expect(try #require(LogTimestamp("1970-01-01T00:00:00Z")).seconds == 0)
        #expect(try #require(LogTimestamp("2024-02-29T12:00:00Z")).seconds == 1_709_208_000)
        for bad in [
            "", "2026-11-21", "2026-11-21T22:01:02", "2026-13-01T00:00:00Z", "2026-11-21T22:01:02.Z",
            "2026-11-21T22:01:02+0100", "not-a-time",
        ] {
            #expect(LogTimestamp(bad) == nil, "\(bad)")
        }
    }

    @Test func followsLinesWithOffsetsAndResumesFromTheUTCSecond() async throws {
        let line: @Sendable (Int, String) -> String = { n, time in "2026-11-21T23:01:\(time)+01:00 line \(n)\n" }
        let requests = Locked<[String]>([])
        let handler: @Sendable (TestRequest) -> TestResponse = { request in
            guard request.path.hasSuffix("/log") else {
                return .json(#"{"kind":"Pod","status":{"containerStatuses":[{"name":"app","restartCount":0}]}}"#)
            }
            let count = requests.withLock {
                $0.append(request.values("sinceTime").first ?? "-")
                return $0.count
            }
            let lines =
                count == 1
                ? [line(1, "02.1"), line(2, "02.2")]
                : [line(1, "02.1"), line(2, "02.2"), line(3, "03")]
            return TestResponse(headers: [:], chunks: [Data(lines.joined().utf8)], cut: count == 1)
        }
        let server = try await TestHTTPSServer(certificates: nil, handler: handler)
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let client = try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
        var follower = LogFollower(client: client, namespace: "dev", pod: "web", container: "app")
        follower.retryDelay = .milliseconds(20)
        let lines = await LogCollector.first(3, of: follower.lines(), within: .seconds(20))
        await server.stop()
        #expect(lines.map(\.text) == ["line 1", "line 2", "line 3"])
        #expect(lines.first?.timestamp == "2026-11-21T23:01:02.1+01:00")
        #expect(requests.current.prefix(2) == ["-", "2026-11-21T22:01:02Z"])
    }
}

/// Reads a log stream with a deadline, so that a follower that shows nothing fails the test instead of
/// hanging it.
enum LogCollector {
    static func first(
        _ count: Int, of stream: AsyncThrowingStream<LogLine, any Error>, within limit: Duration
    ) async -> [LogLine] {
        let collected = Locked<[LogLine]>([])
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await line in stream {
                        if collected.withLock({
                            $0.append(line); return $0.count
                        }) >= count {
                            return
                        }
                    }
                } catch {
                    Issue.record("the log stream failed: \(error)")
                }
            }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
        if collected.current.count < count {
            Issue.record("only \(collected.current.count) of \(count) log lines within \(limit)")
        }
        return collected.current
    }
}
