import DevLoop
import Foundation
import LockedValue
import Testing

/// Watch resume/relist and log follow/resume logic against a scripted API server.
@Suite struct WatchAndLogsTests {
    static func pod(_ name: String, _ version: Int) -> String {
        #"{"kind":"Pod","metadata":{"name":"\#(name)","resourceVersion":"\#(version)"}}"#
    }

    static func event(_ type: String, _ object: String) -> Data {
        Data((#"{"type":"\#(type)","object":\#(object)}"# + "\n").utf8)
    }

    @Test func watchResumesAfterACutAndRelistsOn410() async throws {
        let requests = Locked<[String]>([])
        let handler: @Sendable (TestRequest) -> TestResponse = { request in
            let version = request.values("resourceVersion").first ?? ""
            let watching = request.values("watch").first == "1"
            requests.withLock { $0.append(watching ? "watch@\(version)" : "list") }
            let lists = requests.current.filter { $0 == "list" }.count
            if !watching {
                let items =
                    lists == 1 ? [Self.pod("a", 10)] : [Self.pod("a", 10), Self.pod("b", 11), Self.pod("c", 20)]
                return .json(
                    #"{"kind":"PodList","metadata":{"resourceVersion":"\#([10, 20][safe: lists - 1] ?? 27)"},"items":[\#(items.joined(separator: ","))]}"#
                )
            }
            switch version {
            case "10":  // one event, then the connection drops
                return TestResponse(chunks: [Self.event("ADDED", Self.pod("b", 11))], cut: true)
            case "11":  // too old: the server says so mid-stream
                return TestResponse(chunks: [
                    Self.event("ERROR", #"{"kind":"Status","code":410,"reason":"Expired","message":"too old"}"#)
                ])
            case "20":
                return TestResponse(chunks: [
                    Self.event("BOOKMARK", #"{"kind":"Pod","metadata":{"resourceVersion":"25"}}"#),
                    Self.event("MODIFIED", Self.pod("c", 26)),
                ])
            case "26":
                return .status(410, reason: "Gone", message: "too old resource version")
            default:
                return TestResponse(chunks: [Self.event("DELETED", Self.pod("a", 30))])
            }
        }
        let server = try await TestHTTPSServer(certificates: nil, handler: handler)
        let folder = try TemporaryDirectory()
        let client = try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
        var watcher = ResourceWatcher(client: client, path: "/api/v1/namespaces/dev/pods")
        watcher.retryDelay = .milliseconds(20)
        var seen: [String] = []
        for try await event in watcher.events() {
            seen.append("\(event.kind.rawValue) \(event.object[path: "metadata", "name"]?.string ?? "?")")
            if event.kind == .deleted { break }
        }
        #expect(
            seen == [
                "ADDED a", "ADDED b",  // list, then the watch from 10
                "ADDED a", "ADDED b", "ADDED c",  // relist after the 410 ERROR event
                "MODIFIED c",  // after the bookmark
                "ADDED a", "ADDED b", "ADDED c",  // relist after the 410 answer
                "DELETED a",
            ])
        #expect(
            requests.current.prefix(8) == [
                "list", "watch@10", "watch@11", "list", "watch@20", "watch@26", "list", "watch@27",
            ])
        await server.stop()
        folder.remove()
    }

    @Test func logsFollowAcrossCutsAndRestartsWithoutDuplicatesOrGaps() async throws {
        // Lines 1-4 share one second (sinceTime has whole seconds), line 5 is the dead instance's last.
        let line: @Sendable (Int, String) -> String = { n, ts in "2026-01-01T10:00:\(ts)Z line \(n)\n" }
        let instance1 = [line(1, "01.1"), line(2, "01.25"), line(3, "01.25"), line(4, "01.9"), line(5, "02")]
        let restarts = Locked(0)
        let requests = Locked<[String]>([])
        let handler: @Sendable (TestRequest) -> TestResponse = { request in
            if request.path.hasSuffix("/log") {
                let since = request.values("sinceTime").first ?? "-"
                let previous = request.values("previous").first == "true"
                let count = requests.withLock {
                    $0.append("\(previous ? "previous" : "follow")@\(since)"); return $0.count
                }
                switch count {
                case 1:  // cut after line 3
                    return TestResponse(headers: [:], chunks: [Data(instance1[0...2].joined().utf8)], cut: true)
                case 2:  // resumed from the whole second: lines 1-3 again, then 4; the container exits
                    restarts.withLock { $0 = 1 }
                    return TestResponse(headers: [:], chunks: [Data(instance1[0...3].joined().utf8)])
                case 3:  // previous instance from sinceTime: 1-5
                    return TestResponse(headers: [:], chunks: [Data(instance1.joined().utf8)])
                default:  // the new instance
                    return TestResponse(
                        headers: [:], chunks: [Data((line(6, "03.5") + line(7, "03.5") + line(8, "04")).utf8)])
                }
            }
            return .json(
                #"{"kind":"Pod","status":{"containerStatuses":[{"name":"app","restartCount":\#(restarts.current)}]}}"#)
        }
        let server = try await TestHTTPSServer(certificates: nil, handler: handler)
        let folder = try TemporaryDirectory()
        let client = try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
        var follower = LogFollower(client: client, namespace: "dev", pod: "web", container: "app")
        follower.retryDelay = .milliseconds(20)
        var texts: [String] = []
        for try await logLine in follower.lines() {
            texts.append(logLine.text)
            if texts.count == 8 { break }
        }
        #expect(texts == (1...8).map { "line \($0)" })
        #expect(
            requests.current.prefix(4) == [
                "follow@-", "follow@2026-01-01T10:00:01Z", "previous@2026-01-01T10:00:01Z",
                "follow@2026-01-01T10:00:02Z",
            ])
        await server.stop()
        folder.remove()
    }
}

extension Array {
    subscript(safe index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}
