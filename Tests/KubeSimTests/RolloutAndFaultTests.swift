import Foundation
import KubeSim
import Testing

/// Deployments rolling to a new ReplicaSet, and the fault injection tests use.
@Suite struct RolloutAndFaultTests {
    @Test func changedTemplateRollsToANewReplicaSet() async throws {
        let (server, _, kubectl, firstPod) = try await APIServerStreamTests.startWithPod("rollout")
        let restart = try await kubectl.run(["rollout", "restart", "deploy/web", "-n", "shop"])
        #expect(restart.status == 0, "\(restart.stderr)")
        let status = try await kubectl.run(["rollout", "status", "deploy/web", "-n", "shop", "--timeout=60s"])
        #expect(status.stdout.contains("successfully rolled out"), "\(status.stdout) \(status.stderr)")
        try await eventually("old pods gone") {
            let pods = try await kubectl.run(["get", "pods", "-n", "shop", "--no-headers"])
            return !pods.stdout.contains(firstPod) && pods.stdout.split(separator: "\n").count == 2
        }
        let sets = try await kubectl.run(["get", "rs", "-n", "shop", "--no-headers"])
        let lines = sets.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(lines.count == 2)
        #expect(lines.map { $0[1] }.sorted() == ["0", "2"])
        let revision = try await kubectl.run([
            "get", "deploy", "web", "-n", "shop", "-o",
            "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
        ])
        #expect(revision.stdout == "2")
        await server.stop()
    }

    @Test func faultsCutStreamsRestartAndDelay() async throws {
        let (server, _, kubectl, pod) = try await APIServerStreamTests.startWithPod("faults")
        let curl = Curl(server: server)
        let watch = try curl.stream("/api/v1/namespaces/shop/pods?watch=1")
        try await watch.waitForOutput("the watch's first events") { _ in !watch.watchEvents.isEmpty }
        server.cutStreams()
        _ = try await watch.wait(timeout: .seconds(10))

        try await server.restartAPIServer()
        let (code, _) = try await curl.request("GET", "/api/v1/namespaces/shop/pods/\(pod)")
        #expect(code == 200)

        server.setResponseDelay(.milliseconds(700))
        let start = ContinuousClock.now
        _ = try await curl.request("GET", "/version")
        #expect(ContinuousClock.now - start >= .milliseconds(700))
        server.setResponseDelay(.zero)

        try await server.deletePod(namespace: "shop", name: pod, gracePeriodSeconds: 0)
        try await eventually("a replacement pod") {
            let pods = try await kubectl.run(["get", "pods", "-n", "shop", "-o", "name"])
            return pods.stdout.split(separator: "\n").count == 2 && !pods.stdout.contains(pod)
        }
        await server.stop()
    }
}

extension RolloutAndFaultTests {
    /// killContainer, through the real runtime: the kubelet restarts the container and counts it.
    @Test func killedContainerIsRestartedAndCounted() async throws {
        let server = try await KubeSimServer.startTemporary()
        let pod: JSON = [
            "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "crashy", "namespace": "default"],
            "spec": ["containers": [["name": "main", "image": "busybox", "command": ["sleep", "600"]]]],
        ]
        _ = try await server.api.create(.pods, namespace: "default", body: pod)
        func containerState() async throws -> JSON? {
            try await server.api.get(.pods, namespace: "default", name: "crashy")[
                path: ["status", "containerStatuses"]]?.arrayValue?.first
        }
        try await eventually("the container running") {
            try await containerState()?[path: ["state", "running"]] != nil
        }
        try await server.killContainer(namespace: "default", pod: "crashy", container: "main")
        try await eventually("a restart counted", timeout: .seconds(30)) {
            let state = try await containerState()
            return state?["restartCount"] == 1 && state?[path: ["state", "running"]] != nil
                && state?[path: ["lastState", "terminated", "exitCode"]] == 137
        }
        let logs = try await Curl(server: server).request(
            "GET", "/api/v1/namespaces/default/pods/crashy/log?previous=true")
        #expect(logs.0 == 200)
        await server.stop()
        try? FileManager.default.removeItem(at: server.directory)
    }
}

extension RolloutAndFaultTests {
    /// kubesim stopped and started again on its state directory is a node that rebooted: the same pod
    /// runs again with its restart count going on, the dead instance terminated (255, Unknown) and its
    /// log still there for `previous=true`, and the pod's emptyDir kept.
    @Test func aRestartedKubeSimStartsItsPodsAgainAsARebootedNode() async throws {
        let directory = temporaryDirectory("reboot")
        defer { try? FileManager.default.removeItem(at: directory) }
        let script =
            "echo \"started with $(cat /cache/n 2>/dev/null || echo nothing)\"; echo kept > /cache/n; sleep 600"
        let pod: JSON = [
            "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "steady", "namespace": "default"],
            "spec": [
                "containers": [
                    [
                        "name": "main", "image": "busybox", "command": ["sh", "-c", .string(script)],
                        "volumeMounts": [["name": "cache", "mountPath": "/cache"]],
                    ]
                ],
                "volumes": [["name": "cache", "emptyDir": [:]]],
            ],
        ]
        let first = try await KubeSimServer.start(directory: directory)
        _ = try await first.api.create(.pods, namespace: "default", body: pod)
        try await eventually("the first instance's line") {
            let (_, text) = try await Curl(server: first).text("/api/v1/namespaces/default/pods/steady/log")
            return text.contains("started with nothing")
        }
        await first.stop()
        let second = try await KubeSimServer.start(directory: directory, options: .init(port: first.port))
        func status() async throws -> JSON? {
            try await second.api.get(.pods, namespace: "default", name: "steady")[
                path: ["status", "containerStatuses"]]?.arrayValue?.first
        }
        // The saved status is the first instance's until the new kubelet reports the second.
        try await eventually("the pod running again") {
            let state = try await status()
            return state?["restartCount"] == 1 && state?[path: ["state", "running"]] != nil
        }
        let state = try await status()
        #expect(state?[path: ["lastState", "terminated", "exitCode"]] == 255, "\(String(describing: state))")
        #expect(state?[path: ["lastState", "terminated", "reason"]] == "Unknown", "\(String(describing: state))")
        let curl = Curl(server: second)
        let (_, previous) = try await curl.text("/api/v1/namespaces/default/pods/steady/log?previous=true")
        #expect(previous == "started with nothing\n")
        try await eventually("the second instance's line") {
            try await curl.text("/api/v1/namespaces/default/pods/steady/log").1 == "started with kept\n"
        }
        await second.stop()
    }
}
