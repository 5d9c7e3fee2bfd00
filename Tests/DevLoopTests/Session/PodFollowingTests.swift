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
        let cluster = try await KubeSimFixture.start()
        do {
            let up = try DevLoopProcess(
                ["up", "--config", project.config], directory: project.root, kubeconfig: cluster.server.kubeconfigPath)
            try await up.waitForLine("the forward") { $0.contains("forwarding http://127.0.0.1:\(project.port)") }
            #expect(await httpGet(port: project.port, path: "/index.html")?.body == "hello v1\n")
            let ready = try await up.waitForLine("the ready pod") { $0.hasSuffix(" is ready") }
            let pod = String(ready.split(separator: " ")[1])

            try await cluster.server.deletePod(namespace: project.namespace, name: pod, gracePeriodSeconds: 0)
            try project.write("app/index.html", "hello v2\n")
            try await up.waitForLine("the replacement") { $0.contains("pod \(pod) replaced by") }
            try await up.waitForLine("the reconcile of the new pod") { $0.hasPrefix("reconciled ") }
            try await waitUntil("the new pod serves the edit", timeout: .seconds(60)) {
                await httpGet(port: project.port, path: "/index.html")?.body == "hello v2\n"
            }
            up.signal(SIGTERM)
            #expect(await up.exitStatus() == 0, "\(up.output)")
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    /// 200 sequential requests while the server process is killed, then the pod deleted: none fails.
    @Test func noRequestFailsWhileTheServerCrashesAndThePodIsReplaced() async throws {
        let project = try FixtureProject()
        defer { project.remove() }
        let cluster = try await KubeSimFixture.start()
        do {
            let up = try DevLoopProcess(
                ["up", "--config", project.config], directory: project.root, kubeconfig: cluster.server.kubeconfigPath)
            try await up.waitForLine("the forward") { $0.contains("forwarding http://127.0.0.1:\(project.port)") }
            let ready = try await up.waitForLine("the ready pod") { $0.hasSuffix(" is ready") }
            let pod = String(ready.split(separator: " ")[1])
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
            up.signal(SIGTERM)
            #expect(await up.exitStatus() == 0, "\(up.output)")
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}
