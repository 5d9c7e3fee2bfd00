import Foundation
import KubeSim
import Testing

/// The opt-in request recorder (issue 12's safety tests rest on it): off until started, then every
/// request once, plain or upgraded, with its method, path, query and user agent.
@Suite struct RequestRecorderTests {
    @Test func recordsEveryRequestOnceOnlyWhileStarted() async throws {
        let (server, _, kubectl, pod) = try await APIServerStreamTests.startWithPod("recorder")
        #expect(server.requests.requests.isEmpty, "recording is off by default")

        server.requests.start()
        let curl = Curl(server: server)
        let (code, _) = try await curl.request("GET", "/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb")
        #expect(code == 200)
        let exec = try await TestWebSocket.connect(
            server, path: "/api/v1/namespaces/shop/pods/\(pod)/exec?command=true&stdout=true",
            protocols: ["v4.channel.k8s.io"])
        _ = await exec.collect()
        // Refused: no such pod. The HTTP handler answers it, and records it, once.
        await #expect(throws: TestFailure.self) {
            _ = try await TestWebSocket.connect(
                server, path: "/api/v1/namespaces/shop/pods/missing/exec?command=true&stdout=true",
                protocols: ["v4.channel.k8s.io"])
        }
        let deleted = try await kubectl.run(["delete", "pod", "-n", "shop", pod, "--wait=false"])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        server.requests.stop()
        _ = try await curl.request("GET", "/version")

        let requests = server.requests.requests
        #expect(
            requests.first
                == RecordedRequest(
                    method: "GET", path: "/api/v1/namespaces/shop/pods", query: "labelSelector=app%3Dweb",
                    userAgent: requests.first?.userAgent))
        #expect(requests.first?.userAgent?.hasPrefix("curl/") == true)
        #expect(requests.filter { $0.path == "/api/v1/namespaces/shop/pods/\(pod)/exec" }.count == 1)
        #expect(requests.filter { $0.path == "/api/v1/namespaces/shop/pods/missing/exec" }.count == 1)
        let deletes = requests.filter { $0.method == "DELETE" }
        #expect(deletes.map(\.path) == ["/api/v1/namespaces/shop/pods/\(pod)"], "\(requests)")
        #expect(deletes.first?.userAgent?.hasPrefix("kubectl/") == true)
        #expect(!requests.contains { $0.path == "/version" && $0.userAgent?.hasPrefix("curl/") == true })
        #expect(server.requests.dropped == 0)
        await server.stop()
    }
}
