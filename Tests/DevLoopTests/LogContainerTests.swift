import Foundation
import LockedValue
import Testing

@testable import DevLoop

/// Which container's log is followed, and which 400s are worth waiting for: a pod with a sidecar needs
/// a container name (kubectl's default), and only "waiting to start" is retried.
@Suite struct LogContainerTests {
    static let sidecarPod = """
        {"kind":"Pod","metadata":{"name":"web","annotations":{"kubectl.kubernetes.io/default-container":"app"}},
         "spec":{"containers":[{"name":"istio-proxy"},{"name":"app"}]},
         "status":{"containerStatuses":[{"name":"istio-proxy","restartCount":4},{"name":"app","restartCount":0}]}}
        """

    static func badRequest(_ message: String) -> TestResponse {
        .status(400, reason: "BadRequest", message: message)
    }

    @Test func followsTheDefaultContainerAndSaysWhyItWaits() async throws {
        let containers = Locked<[String]>([])
        let handler: @Sendable (TestRequest) -> TestResponse = { request in
            guard request.path.hasSuffix("/log") else { return .json(Self.sidecarPod) }
            let container = request.values("container").first ?? ""
            let count = containers.withLock {
                $0.append(container); return $0.count
            }
            guard container == "app" else {
                return Self.badRequest(
                    "a container name must be specified for pod web, choose one of: [istio-proxy app]")
            }
            if count <= 10 {
                return Self.badRequest(#"container \"app\" in pod \"web\" is waiting to start: ContainerCreating"#)
            }
            return TestResponse(headers: [:], chunks: [Data("2026-11-21T22:00:00Z ready\n".utf8)])
        }
        let server = try await TestHTTPSServer(certificates: nil, handler: handler)
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let client = try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
        let reasons = Locked<[String]>([])
        var follower = LogFollower(client: client, namespace: "dev", pod: "web")
        follower.retryDelay = .milliseconds(10)
        follower.onWaiting = { reason in reasons.withLock { $0.append(reason) } }
        let lines = await LogCollector.first(1, of: follower.lines(), within: .seconds(20))
        await server.stop()
        #expect(lines.map(\.text) == ["ready"])
        #expect(Set(containers.current) == ["app"])
        #expect(reasons.current == [#"container "app" in pod "web" is waiting to start: ContainerCreating"#])
    }

    @Test func aBadRequestThatIsNotWaitingEndsTheStream() async throws {
        let requests = Locked(0)
        let handler: @Sendable (TestRequest) -> TestResponse = { request in
            guard request.path.hasSuffix("/log") else { return .json(Self.sidecarPod) }
            requests.withLock { $0 += 1 }
            return Self.badRequest("container nope is not valid for pod web")
        }
        let server = try await TestHTTPSServer(certificates: nil, handler: handler)
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let client = try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
        var follower = LogFollower(client: client, namespace: "dev", pod: "web", container: "nope")
        follower.retryDelay = .milliseconds(10)
        let outcome = Locked<String>("still running")
        let task = Task {
            do {
                for try await _ in follower.lines() {}
                outcome.withLock { $0 = "ended without an error" }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
        }
        for _ in 0..<200 where outcome.current == "still running" { try await Task.sleep(for: .milliseconds(50)) }
        task.cancel()
        await server.stop()
        #expect(outcome.current.contains("container nope is not valid"), "\(outcome.current)")
        #expect(requests.current == 1)
    }

    /// A pod that has completed (a Job's pod) writes no more: following ends after its last line instead
    /// of asking again for ever.
    @Test func followingACompletedPodEnds() async throws {
        let logRequests = Locked(0)
        let handler: @Sendable (TestRequest) -> TestResponse = { request in
            guard request.path.hasSuffix("/log") else {
                return .json(
                    #"{"kind":"Pod","spec":{"containers":[{"name":"job"}]},"status":{"phase":"Succeeded","containerStatuses":[{"name":"job","restartCount":0}]}}"#
                )
            }
            logRequests.withLock { $0 += 1 }
            return TestResponse(
                headers: [:], chunks: [Data("2026-11-21T22:00:00Z one\n2026-11-21T22:00:01Z two\n".utf8)])
        }
        let server = try await TestHTTPSServer(certificates: nil, handler: handler)
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let client = try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
        var follower = LogFollower(client: client, namespace: "dev", pod: "job-x")
        follower.retryDelay = .milliseconds(10)
        let texts = Locked<[String]>([])
        let ended = Locked(false)
        let task = Task {
            for try await line in follower.lines() { texts.withLock { $0.append(line.text) } }
            ended.withLock { $0 = true }
        }
        for _ in 0..<100 where !ended.current { try await Task.sleep(for: .milliseconds(50)) }
        task.cancel()
        await server.stop()
        #expect(ended.current, "the follower still polls a completed pod")
        #expect(texts.current == ["one", "two"])
        #expect(logRequests.current == 1)
    }

    @Test func defaultContainerIsTheAnnotatedOneElseTheFirst() throws {
        let annotated = try JSONValue.decode(Data(Self.sidecarPod.utf8))
        #expect(LogFollower.defaultContainer(of: annotated) == "app")
        let plain = try JSONValue.decode(Data(#"{"spec":{"containers":[{"name":"a"},{"name":"b"}]}}"#.utf8))
        #expect(LogFollower.defaultContainer(of: plain) == "a")
        let stale = try JSONValue.decode(
            Data(
                #"{"metadata":{"annotations":{"kubectl.kubernetes.io/default-container":"gone"}},"spec":{"containers":[{"name":"a"}]}}"#
                    .utf8))
        #expect(LogFollower.defaultContainer(of: stale) == "a")
    }
}
