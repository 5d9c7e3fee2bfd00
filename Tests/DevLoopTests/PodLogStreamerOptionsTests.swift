import DevLoop
import Foundation
import LockedValue
import Testing

/// `PodLogStreamer`'s options and its end on a permanent error, against a scripted API server.
@Suite struct PodLogStreamerOptionsTests {
    static let pods = """
        {"kind":"PodList","metadata":{"resourceVersion":"3"},"items":[
         {"metadata":{"name":"web-b","uid":"2","creationTimestamp":"2026-01-01T10:00:02Z"},
          "spec":{"containers":[{"name":"app"}]},
          "status":{"containerStatuses":[{"name":"app","restartCount":0,"state":{"running":{}}}]}},
         {"metadata":{"name":"web-a","uid":"1","creationTimestamp":"2026-01-01T10:00:01Z"},
          "spec":{"containers":[{"name":"app"},{"name":"side"},{"name":"late"}]},
          "status":{"containerStatuses":[{"name":"app","restartCount":0,"state":{"running":{}}},
            {"name":"side","restartCount":2,"state":{"waiting":{"reason":"CrashLoopBackOff"}}},
            {"name":"late","restartCount":0,"state":{"waiting":{"reason":"ContainerCreating"}}}]}}]}
        """

    @Test func noFollowReadsEachStartedContainerOnceWithTailAndSince() async throws {
        let queries = Locked<[String]>([])
        let server = try await TestHTTPSServer(certificates: nil) { request in
            guard request.path.hasSuffix("/log") else { return .json(Self.pods) }
            let pod = request.path.split(separator: "/").dropLast().last.map(String.init) ?? ""
            let container = request.values("container").first ?? ""
            queries.withLock {
                $0.append(
                    "\(pod)/\(container) tail=\(request.values("tailLines").first ?? "-") "
                        + "since=\(request.values("sinceSeconds").first ?? "-") follow=\(request.values("follow").first ?? "-")"
                )
            }
            return TestResponse(
                headers: [:], chunks: [Data("2026-01-01T10:00:05.5Z \(pod) \(container)\nno timestamp".utf8)])
        }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        do {
            let client = try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
            let streamer = PodLogStreamer(
                client: client, namespace: "dev", selector: "app=web",
                options: PodLogOptions(since: .milliseconds(90_500), tail: 20, follow: false))
            var seen: [String] = []
            for try await record in streamer.records() {
                seen.append("\(record.pod)/\(record.container) [\(record.timestamp)] \(record.text)")
            }
            #expect(
                seen == [
                    "web-a/app [2026-01-01T10:00:05.5Z] web-a app", "web-a/app [] no timestamp",
                    "web-a/side [2026-01-01T10:00:05.5Z] web-a side", "web-a/side [] no timestamp",
                    "web-b/app [2026-01-01T10:00:05.5Z] web-b app", "web-b/app [] no timestamp",
                ])
            #expect(
                queries.current == [
                    "web-a/app tail=20 since=91 follow=-", "web-a/side tail=20 since=91 follow=-",
                    "web-b/app tail=20 since=91 follow=-",
                ])
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// A RoleBinding without pods/log: the follow ends with the 403 instead of retrying for ever.
    @Test(.timeLimit(.minutes(1))) func aForbiddenLogEndsTheStream() async throws {
        let server = try await TestHTTPSServer(certificates: nil) { request in
            if request.path.hasSuffix("/log") {
                return .status(403, reason: "Forbidden", message: "cannot get resource pods/log")
            }
            if request.values("watch") == ["1"] { return TestResponse(chunks: [], cut: true) }
            return .json(Self.pods)
        }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        do {
            let client = try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
            let streamer = PodLogStreamer(client: client, namespace: "dev", selector: "app=web")
            let error = await #expect(throws: KubeClientError.self) {
                for try await _ in streamer.records() {}
            }
            #expect(error?.statusCode == 403)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
