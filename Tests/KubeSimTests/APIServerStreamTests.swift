import Foundation
import KubeSim
import Testing

/// Exec, logs and watch through the real kubectl, over the host-process runtime seam.
@Suite struct APIServerStreamTests {
    static func startWithPod(_ name: String) async throws -> (KubeSimServer, HostProcessRuntime, Kubectl, String) {
        let directory = temporaryDirectory(name)
        let runtime = HostProcessRuntime()
        let server = try await KubeSimServer.start(directory: directory, runtime: runtime)
        let kubectl = Kubectl(kubeconfig: server.kubeconfigPath)
        let manifest = directory.appendingPathComponent("app.yaml")
        try Data(APIServerKubectlTests.manifests.utf8).write(to: manifest)
        let applied = try await kubectl.run(["apply", "--server-side", "-f", manifest.path])
        #expect(applied.status == 0, "\(applied.stderr)")
        var pod = ""
        try await eventually("a running pod") {
            let pods = try await kubectl.run([
                "get", "pods", "-n", "shop", "-o",
                #"jsonpath={range .items[*]}{.metadata.name} {.status.phase}{"\n"}{end}"#,
            ])
            let running = pods.stdout.split(separator: "\n").first { $0.hasSuffix(" Running") }
            pod = running.map { String($0.dropLast(" Running".count)) } ?? ""
            return !pod.isEmpty
        }
        return (server, runtime, kubectl, pod)
    }

    @Test func execRoundTripsStdinAndExitCode() async throws {
        let (server, _, kubectl, pod) = try await Self.startWithPod("exec")
        let result = try await kubectl.run(
            ["exec", "-i", "-n", "shop", pod, "--", "sh", "-c", "cat; echo to-stderr >&2; exit 3", "-v=6"],
            stdin: "hello through stdin\n")
        print(result.stdout, result.stderr)
        #expect(result.status == 3)
        #expect(result.stdout == "hello through stdin\n")
        #expect(result.stderr.contains("to-stderr"))
        let success = try await kubectl.run(["exec", "-n", "shop", pod, "--", "echo", "ok"])
        #expect(success.status == 0)
        #expect(success.stdout == "ok\n")
        await server.stop()
    }

    @Test func logsFollowShowsNewLines() async throws {
        let (server, runtime, kubectl, pod) = try await Self.startWithPod("logs")
        let uid = try await server.api.get(.pods, namespace: "shop", name: pod).uid
        let follow = try kubectl.start(["logs", "-f", "-n", "shop", pod])
        try await follow.waitForOutput("the first line") { $0.contains("started app") }
        runtime.write(uid: uid, container: "app", "written later")
        try await follow.waitForOutput("the later line") { $0.contains("written later") }
        follow.stop()
        let tail = try await kubectl.run(["logs", "--tail=1", "--timestamps", "-n", "shop", pod])
        #expect(tail.stdout.hasSuffix(" written later\n"))
        #expect(tail.stdout.split(separator: "\n").count == 1)
        await server.stop()
    }

    @Test func watchShowsPodsAndReplacement() async throws {
        let (server, _, kubectl, pod) = try await Self.startWithPod("watch")
        let watch = try kubectl.start(["get", "pods", "-n", "shop", "-w"])
        try await watch.waitForOutput("running pods") { $0.contains("1/1     Running") }
        let deleted = try await kubectl.run(["delete", "pod", "-n", "shop", pod])
        #expect(deleted.stdout.contains("pod \"\(pod)\" deleted"), "\(deleted.stderr)")
        try await eventually("a replacement pod") {
            let pods = try await kubectl.run(["get", "pods", "-n", "shop", "-o", "name"])
            return pods.stdout.split(separator: "\n").count == 2 && !pods.stdout.contains(pod)
        }
        try await watch.waitForOutput("the deletion in the watch") { $0.contains("Terminating") }
        watch.stop()
        print(watch.stdout)
        let namespace = try await kubectl.run(["delete", "ns", "shop"], timeout: .seconds(60))
        #expect(namespace.status == 0, "\(namespace.stderr)")
        let gone = try await kubectl.run(["get", "ns", "shop"])
        #expect(gone.status != 0)
        #expect(gone.stderr.contains("NotFound") || gone.stderr.contains("not found"))
        await server.stop()
    }
}
