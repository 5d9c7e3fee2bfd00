import Foundation
import KubeSim
import Testing

/// Issue 9, the pod spec: the real kubectl against a kubesim with the bubblewrap runtime, each test
/// applying a manifest as a developer writes it and checking what a cluster would show.
@Suite(.serialized) struct PodSpecKubectlTests {
    /// A kubesim with the bubblewrap runtime, a kubectl for it, and the `spec` namespace.
    struct Cluster {
        let server: KubeSimServer
        let kubectl: Kubectl
        let directory: URL

        static func start(_ name: String) async throws -> Cluster {
            let directory = temporaryDirectory(name)
            let server = try await KubeSimServer.start(directory: directory)
            let cluster = Cluster(
                server: server, kubectl: Kubectl(kubeconfig: server.kubeconfigPath), directory: directory)
            let created = try await cluster.kubectl.run(["create", "namespace", "spec"])
            guard created.status == 0 else { throw TestFailure("create namespace: \(created.stderr)") }
            return cluster
        }

        /// `kubectl apply -f` of `yaml`; the result, so that a test can read its warnings.
        @discardableResult
        func apply(_ yaml: String, _ extra: [String] = []) async throws -> Kubectl.Result {
            let file = directory.appendingPathComponent("manifest-\(UUID().uuidString.prefix(6)).yaml")
            try Data(yaml.utf8).write(to: file)
            return try await kubectl.run(["apply", "-n", "spec", "-f", file.path] + extra)
        }

        func run(_ arguments: [String]) async throws -> Kubectl.Result {
            try await kubectl.run(["-n", "spec"] + arguments)
        }

        /// A jsonpath of an object, as kubectl prints it.
        func jsonpath(_ object: String, _ path: String) async throws -> String {
            try await run(["get", object, "-o", "jsonpath={\(path)}"]).stdout
        }

        func waitUntilRunning(_ pod: String, timeout: Duration = .seconds(30)) async throws {
            try await eventually("pod \(pod) running", timeout: timeout) {
                try await jsonpath("pod/\(pod)", ".status.phase") == "Running"
            }
        }

        func stop() async { await server.stop() }
    }

    /// Runs `body` against a new cluster, stopped afterwards whatever happens.
    static func withCluster(_ name: String, _ body: (Cluster) async throws -> Void) async throws {
        let cluster = try await Cluster.start(name)
        do {
            try await body(cluster)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    static func pod(_ name: String, command: String, extra: String = "") -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: \(name)
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: main
            image: busybox
            command: ["sh", "-c", \(jsonString(command))]
        \(extra)
        """
    }

    /// exec joins the container's pid and mount namespaces: it sees the container's processes and can
    /// signal them (the dev loop's in-pod restart), as `kubectl exec` does on a cluster.
    @Test func execSeesAndSignalsTheContainersProcesses() async throws {
        try await Self.withCluster("exec-pidns") { cluster in
            // kubelet reads `$$` as an escaped `$`.
            let script = "echo $$$$ > /tmp/main.pid; trap 'echo got-hup' HUP; while true; do sleep 0.1; done"
            try await cluster.apply(Self.pod("signalled", command: script))
            try await cluster.waitUntilRunning("signalled")
            try await eventually("the pid file") {
                try await cluster.run(["exec", "signalled", "--", "cat", "/tmp/main.pid"]).status == 0
            }

            // ps in the exec shows the container's main process.
            let ps = try await cluster.run(["exec", "signalled", "--", "ps", "-e", "-o", "pid=,args="])
            #expect(ps.status == 0, "\(ps.stderr)")
            let main = try await cluster.run(["exec", "signalled", "--", "cat", "/tmp/main.pid"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(ps.stdout.contains("trap 'echo got-hup' HUP"), "\(ps.stdout)")
            #expect(
                ps.stdout.split(separator: "\n").contains {
                    $0.trimmingCharacters(in: .whitespaces).hasPrefix(main + " ") && $0.contains("got-hup")
                }, "\(ps.stdout) has no process \(main)")

            // kill by pid file reaches the container's shell.
            let signalled = try await cluster.run([
                "exec", "signalled", "--", "sh", "-c", "kill -HUP $(cat /tmp/main.pid)",
            ])
            #expect(signalled.status == 0, "\(signalled.stderr)")
            try await eventually("the trap's line in the log") {
                try await cluster.run(["logs", "signalled"]).stdout.contains("got-hup")
            }

            // A missing program: a shell's 127 and a reason.
            let missing = try await cluster.run(["exec", "signalled", "--", "no-such-program"])
            #expect(missing.status == 127)
            #expect(missing.stderr.contains("no-such-program"))
        }
    }
}

/// `text` as a JSON (and so YAML flow) string.
func jsonString(_ text: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
    return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
}
