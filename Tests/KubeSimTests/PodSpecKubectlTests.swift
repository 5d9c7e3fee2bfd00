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

/// Issue 9, never silent: what kubesim cannot run waits, says why, and is retried.
@Suite(.serialized) struct NeverSilentKubectlTests {
    /// An image-only container (kubesim runs no images) leaves one Pending pod whose container waits with
    /// CreateContainerError and says what to add; the ReplicaSet does not replace it again and again.
    @Test func imageOnlyContainerWaitsAndSaysWhatToAdd() async throws {
        try await PodSpecKubectlTests.withCluster("image-only") { cluster in
            let deployment = """
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: image-only
                spec:
                  replicas: 1
                  selector:
                    matchLabels: {app: image-only}
                  template:
                    metadata:
                      labels: {app: image-only}
                    spec:
                      containers:
                      - name: app
                        image: nginx:1.27
                """
            let applied = try await cluster.apply(deployment)
            #expect(applied.status == 0, "\(applied.stderr)")
            try await eventually("the container waiting with CreateContainerError") {
                try await cluster.jsonpath("pods", ".items[*].status.containerStatuses[0].state.waiting.reason")
                    == "CreateContainerError"
            }
            let message = try await cluster.jsonpath(
                "pods", ".items[0].status.containerStatuses[0].state.waiting.message")
            #expect(message.contains("give the container a command"), "\(message)")
            #expect(try await cluster.jsonpath("pods", ".items[0].status.phase") == "Pending")
            let table = try await cluster.run(["get", "pods", "--no-headers"]).stdout
            #expect(table.contains("CreateContainerError"), "\(table)")
            try await eventually("a Failed event that tells why") {
                try await cluster.run(["get", "events", "--field-selector", "reason=Failed"]).stdout
                    .contains("give the container a command")
            }
            // Over a few seconds (a ReplicaSet replaced a Failed pod at once before), still one pod.
            for _ in 0..<6 {
                let names = try await cluster.jsonpath("pods", ".items[*].metadata.name")
                #expect(names.split(separator: " ").count == 1, "\(names)")
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}

/// Issue 9: ports by name, and pods with several containers.
@Suite(.serialized) struct PodPortsKubectlTests {
    /// Probes on a named port (`port: http`) reach that port, and `kubectl port-forward` to a pod with
    /// two containers and a named port serves it.
    @Test func namedPortsInProbesAndPortForwardToAPodWithTwoContainers() async throws {
        try await PodSpecKubectlTests.withCluster("named-ports") { cluster in
            let root = cluster.directory.appendingPathComponent("site")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try Data("named\n".utf8).write(to: root.appendingPathComponent("index.html"))
            let pod = """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: web
                spec:
                  terminationGracePeriodSeconds: 1
                  containers:
                  - name: web
                    image: python:3.12-slim
                    command: ["python3", "-m", "http.server", "8081", "--directory", "/site"]
                    ports:
                    - {name: http, containerPort: 8081}
                    readinessProbe:
                      httpGet: {path: /index.html, port: http}
                      periodSeconds: 1
                    livenessProbe:
                      tcpSocket: {port: http}
                      initialDelaySeconds: 1
                      periodSeconds: 1
                      failureThreshold: 2
                    volumeMounts:
                    - {name: site, mountPath: /site}
                  - name: sidecar
                    image: busybox
                    command: ["sleep", "3600"]
                  volumes:
                  - name: site
                    hostPath: {path: \(root.path)}
                """
            let applied = try await cluster.apply(pod)
            #expect(applied.status == 0, "\(applied.stderr)")
            try await eventually("both containers ready") {
                try await cluster.jsonpath("pod/web", ".status.containerStatuses[*].ready") == "true true"
            }
            // The liveness probe on the named port did not kill the server (a probe on a wrong port
            // would have within 3 s).
            try await Task.sleep(for: .seconds(3))
            #expect(try await cluster.jsonpath("pod/web", ".status.containerStatuses[0].restartCount") == "0")
            let local = try FreePort.pick()
            let forward = try cluster.kubectl.start(["port-forward", "-n", "spec", "pod/web", "\(local):http"])
            defer { forward.stop() }
            try await forward.waitForOutput("the forward") { $0.contains("Forwarding from 127.0.0.1:\(local)") }
            #expect(try await httpGet(port: local, path: "/index.html") == "named\n")
        }
    }
}

/// Issue 9, never silent: `dryRun=All` changes nothing, whatever the verb.
@Suite(.serialized) struct DryRunKubectlTests {
    static func deployment(replicas: Int, image: String = "busybox:1") -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: dry
          labels: {app: dry}
        spec:
          replicas: \(replicas)
          selector:
            matchLabels: {app: dry}
          template:
            metadata:
              labels: {app: dry}
            spec:
              containers:
              - name: app
                image: \(image)
                command: ["sleep", "3600"]
        """
    }

    @Test func serverDryRunsLeaveTheLiveObjectUnchanged() async throws {
        try await PodSpecKubectlTests.withCluster("dry-run") { cluster in
            #expect(try await cluster.apply(Self.deployment(replicas: 2)).status == 0)
            // The generation counts changes of the spec (the controllers' status writes move the
            // resourceVersion meanwhile).
            func live() async throws -> String {
                try await cluster.jsonpath("deploy/dry", ".spec.replicas") + " "
                    + cluster.jsonpath("deploy/dry", ".spec.template.spec.containers[0].image") + " "
                    + cluster.jsonpath("deploy/dry", ".metadata.generation")
            }
            let before = try await live()
            #expect(before == "2 busybox:1 1")

            let applied = try await cluster.apply(
                Self.deployment(replicas: 5, image: "busybox:2"), ["--dry-run=server"])
            #expect(applied.status == 0, "\(applied.stderr)")
            #expect(applied.stdout.contains("(server dry run)"), "\(applied.stdout)")
            #expect(try await live() == before, "apply --dry-run=server")

            let serverSide = try await cluster.apply(
                Self.deployment(replicas: 6), ["--server-side", "--force-conflicts", "--dry-run=server"])
            #expect(serverSide.status == 0, "\(serverSide.stderr)")
            #expect(try await live() == before, "apply --server-side --dry-run=server")

            for type in ["strategic", "merge"] {
                let patched = try await cluster.run([
                    "patch", "deploy/dry", "--type", type, "-p", #"{"spec":{"replicas":7}}"#, "--dry-run=server",
                ])
                #expect(patched.status == 0, "\(patched.stderr)")
                #expect(try await live() == before, "patch --type \(type) --dry-run=server")
            }
            let jsonPatched = try await cluster.run([
                "patch", "deploy/dry", "--type", "json", "-p", #"[{"op":"replace","path":"/spec/replicas","value":8}]"#,
                "--dry-run=server",
            ])
            #expect(jsonPatched.status == 0, "\(jsonPatched.stderr)")
            #expect(try await live() == before, "patch --type json --dry-run=server")

            let scaled = try await cluster.run(["scale", "deploy/dry", "--replicas", "9", "--dry-run=server"])
            #expect(scaled.status == 0, "\(scaled.stderr)")
            #expect(try await live() == before, "scale --dry-run=server")

            let file = cluster.directory.appendingPathComponent("changed.yaml")
            try Data(Self.deployment(replicas: 3).utf8).write(to: file)
            let diff = try await cluster.run(["diff", "-f", file.path])
            #expect(diff.status == 1, "diff finds the change: \(diff.stdout) \(diff.stderr)")
            #expect(diff.stdout.contains("replicas: 3"), "\(diff.stdout)")
            #expect(try await live() == before, "diff -f")

            let replaced = try await cluster.run(["replace", "-f", file.path, "--dry-run=server"])
            #expect(replaced.status == 0, "\(replaced.stderr)")
            #expect(try await live() == before, "replace --dry-run=server")

            let deleted = try await cluster.run(["delete", "deploy/dry", "--dry-run=server"])
            #expect(deleted.status == 0, "\(deleted.stderr)")
            #expect(try await live() == before, "delete --dry-run=server")
        }
    }
}
