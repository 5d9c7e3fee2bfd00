import DevLoop
import Foundation
import LockedValue
import Testing

/// After a 410 the watcher lists again; objects deleted while the watch was down (a pod replaced in a
/// rollout during an etcd compaction) must be reported as DELETED, as client-go's reflector does.
@Suite struct WatchRelistTests {
    static func pod(_ name: String, _ version: Int, namespace: String = "dev") -> String {
        #"{"kind":"Pod","metadata":{"name":"\#(name)","namespace":"\#(namespace)","resourceVersion":"\#(version)"}}"#
    }

    @Test func relistReportsWhatVanishedDuringTheGap() async throws {
        let lists = Locked(0)
        let handler: @Sendable (TestRequest) -> TestResponse = { request in
            if request.values("watch").first != "1" {
                let count = lists.withLock {
                    $0 += 1; return $0
                }
                let items =
                    count == 1
                    ? [Self.pod("old", 10), Self.pod("same", 11), Self.pod("other", 12, namespace: "prod")]
                    : [Self.pod("same", 11), Self.pod("new", 30)]
                return .json(
                    #"{"kind":"PodList","metadata":{"resourceVersion":"\#(count == 1 ? 12 : 31)"},"items":[\#(items.joined(separator: ","))]}"#
                )
            }
            switch request.values("resourceVersion").first {
            case "12":
                // The old pod changes once, then the history it would need is compacted away.
                let modified = #"{"type":"MODIFIED","object":\#(Self.pod("old", 13))}"# + "\n"
                let expired = #"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}}"# + "\n"
                return TestResponse(chunks: [Data((modified + expired).utf8)])
            default:
                return TestResponse(chunks: [
                    Data((#"{"type":"DELETED","object":\#(Self.pod("new", 32))}"# + "\n").utf8)
                ])
            }
        }
        let server = try await TestHTTPSServer(certificates: nil, handler: handler)
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let client = try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
        var watcher = ResourceWatcher(client: client, path: "/api/v1/pods")
        watcher.retryDelay = .milliseconds(20)
        var seen: [String] = []
        for try await event in watcher.events() {
            let metadata = event.object["metadata"]
            seen.append(
                "\(event.kind.rawValue) \(metadata?["namespace"]?.string ?? "")/\(metadata?["name"]?.string ?? "")"
                    + "@\(metadata?["resourceVersion"]?.string ?? "")")
            if seen.count == 9 { break }
        }
        await server.stop()
        #expect(
            seen == [
                "ADDED dev/old@10", "ADDED dev/same@11", "ADDED prod/other@12", "MODIFIED dev/old@13",
                // The relist: the two vanished objects with their last known state, then the list.
                "DELETED dev/old@13", "DELETED prod/other@12", "ADDED dev/same@11", "ADDED dev/new@30",
                "DELETED dev/new@32",
            ])
    }
}
