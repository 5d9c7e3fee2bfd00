import DevLoop
import Foundation
import Glibc
import KubeSim
import Testing

/// The session across server crashes and pod replacement, against a kubesim the test runs.
@Suite(.serialized, .timeLimit(.minutes(5))) struct PodFollowingTests {
    /// exec+tar into an emptyDir: the replacement pod starts empty, so serving the page again proves
    /// it got the whole current tree, including an edit made while no pod ran.
    @Test func aReplacedPodGetsTheWholeCurrentTree() async throws {
        let project = try FixtureProject(extraConfig: "transport: exec", emptyDir: true)
        defer { project.remove() }
        try await UpSession.run(project, stop: SIGTERM) { cluster, up in
            #expect(await httpGet(port: project.port, path: "/index.html")?.body == "hello v1\n")
            let pod = try await up.readyPod()

            try await cluster.server.deletePod(namespace: project.namespace, name: pod, gracePeriodSeconds: 0)
            try project.write("app/index.html", "hello v2\n")
            try await up.waitForLine("the replacement") { $0.contains("pod \(pod) replaced by") }
            try await up.waitForLine("the reconcile of the new pod") { $0.hasPrefix("reconciled ") }
            try await waitUntil("the new pod serves the edit", timeout: .seconds(60)) {
                await httpGet(port: project.port, path: "/index.html")?.body == "hello v2\n"
            }
        }
    }

    /// 200 sequential requests while the server process is killed, then the pod deleted: none fails.
    @Test func noRequestFailsWhileTheServerCrashesAndThePodIsReplaced() async throws {
        let project = try FixtureProject()
        defer { project.remove() }
        try await UpSession.run(project, stop: SIGTERM) { cluster, up in
            let pod = try await up.readyPod()
            var failures: [Int] = []
            for index in 0..<200 {
                if index == 50 {
                    try await cluster.server.killContainer(namespace: project.namespace, pod: pod, container: "app")
                }
                if index == 120 { try await cluster.server.deletePod(namespace: project.namespace, name: pod) }
                let answer = await httpGet(port: project.port, path: "/index.html", timeout: 40)
                if answer?.status != 200 || answer?.body != "hello v1\n" { failures.append(index) }
            }
            #expect(failures.isEmpty, "failed requests: \(failures)")
        }
    }
}
