import Foundation
import Testing

/// The acceptance suite of issue 3: the real kubectl against the `kubesim` executable with the
/// bubblewrap runtime, with nothing but KUBECONFIG, from apply to SIGTERM.
@Suite(.serialized) struct KubectlAcceptanceTests {
    static func manifest(source: URL) -> String {
        """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: accept
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: accept
        spec:
          replicas: 1
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: app
                image: python:3.12-slim
                command: ["python3", "-u", "-m", "http.server", "5000", "--directory", "/app"]
                readinessProbe:
                  httpGet: {path: /index.html, port: 5000}
                  periodSeconds: 1
                volumeMounts:
                - {name: source, mountPath: /app}
              volumes:
              - name: source
                hostPath: {path: \(source.path)}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          namespace: accept
        spec:
          selector: {app: web}
          ports:
          - port: 80
            targetPort: 5000
        """
    }

    @Test func kubectlDrivesKubesimFromApplyToShutdown() async throws {
        let directory = temporaryDirectory("accept")
        let source = directory.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try Data("hello v1\n".utf8).write(to: source.appendingPathComponent("index.html"))
        let manifest = directory.appendingPathComponent("app.yaml")
        try Data(Self.manifest(source: source).utf8).write(to: manifest)
        let (kubesim, kubeconfig) = try await KubeSimBinary.start(directory: directory.appendingPathComponent("state"))
        defer { kubesim.stop() }
        let kubectl = Kubectl(kubeconfig: kubeconfig)

        // apply --server-side; get pods -w shows the pod become ready.
        let clock = ContinuousClock()
        let applyStarted = clock.now
        let watch = try kubectl.start(["get", "pods", "-n", "accept", "-w"])
        let applied = try await kubectl.run(["apply", "--server-side", "-f", manifest.path])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout.contains("deployment.apps/web serverside-applied"))
        try await watch.waitForOutput(timeout: .seconds(60), "the pod ready in the watch") {
            $0.contains("1/1     Running")
        }
        print("kubesim figure: apply --server-side to pod 1/1 Running in \(clock.now - applyStarted)")
        watch.stop()
        let pods = try await kubectl.run(["get", "pods", "-n", "accept"])
        #expect(pods.stdout.hasPrefix("NAME"))
        let pod = try #require(pods.stdout.split(separator: "\n").dropFirst().first?.split(separator: " ").first)
        #expect(pod.hasPrefix("web-"))

        // logs -f shows lines written after it started (the server logs each request).
        let logs = try kubectl.start(["logs", "-f", "-n", "accept", String(pod)])
        try await logs.waitForOutput("the server's first line") { $0.contains("Serving HTTP") }

        // exec round-trips stdin and the exit code.
        let exec = try await kubectl.run(
            ["exec", "-i", "-n", "accept", String(pod), "--", "sh", "-c", "cat; exit 3"], stdin: "through stdin\n")
        #expect(exec.status == 3)
        #expect(exec.stdout == "through stdin\n")

        // port-forward deploy/web serves the hostPath folder, and a changed file is served changed.
        let localPort = try FreePort.pick()
        let forward = try kubectl.start(["port-forward", "-n", "accept", "deploy/web", "\(localPort):5000"])
        try await forward.waitForOutput("the forward") { $0.contains("Forwarding from 127.0.0.1:\(localPort)") }
        #expect(try await httpGet(port: localPort, path: "/index.html") == "hello v1\n")
        try Data("hello v2\n".utf8).write(to: source.appendingPathComponent("index.html"))
        let getStarted = clock.now
        #expect(try await httpGet(port: localPort, path: "/index.html") == "hello v2\n")
        print("kubesim figure: HTTP GET through kubectl port-forward (curl included) in \(clock.now - getStarted)")
        forward.stop()
        try await logs.waitForOutput("a request logged after logs -f started") { $0.contains("GET /index.html") }
        logs.stop()

        // delete pod: a replacement with a new name.
        let deleted = try await kubectl.run(["delete", "pod", "-n", "accept", String(pod)])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        try await eventually("a ready replacement pod", timeout: .seconds(60)) {
            let list = try await kubectl.run(["get", "pods", "-n", "accept", "--no-headers"])
            return list.stdout.contains("1/1") && !list.stdout.contains(String(pod))
        }

        // delete ns: the pod processes go with it.
        #expect(!ProcessTable.processes(mentioning: source.path).isEmpty)
        let namespace = try await kubectl.run(["delete", "ns", "accept"], timeout: .seconds(90))
        #expect(namespace.status == 0, "\(namespace.stderr)")
        #expect(ProcessTable.processes(mentioning: source.path).isEmpty)

        // SIGTERM: kubesim stops, and no pod process outlives it.
        let again = try await kubectl.run(["apply", "--server-side", "-f", manifest.path])
        #expect(again.status == 0, "\(again.stderr)")
        try await eventually("pod processes again", timeout: .seconds(30)) {
            !ProcessTable.processes(mentioning: source.path).isEmpty
        }
        kill(kubesim.pid, SIGTERM)
        #expect(try await kubesim.wait(timeout: .seconds(60)) == 0)
        #expect(ProcessTable.processes(mentioning: source.path).isEmpty)
    }

    @Test func unauthenticatedAndWrongCARequestsFail() async throws {
        let directory = temporaryDirectory("auth")
        let (kubesim, kubeconfig) = try await KubeSimBinary.start(directory: directory.appendingPathComponent("state"))
        defer { kubesim.stop() }
        let config = try String(contentsOfFile: kubeconfig, encoding: .utf8)
        let server = try #require(config.split(separator: "\n").first { $0.contains("server:") })
            .replacingOccurrences(of: "server:", with: "").trimmingCharacters(in: .whitespaces)
        let ca = try #require(config.split(separator: "\n").first { $0.contains("certificate-authority-data:") })
            .replacingOccurrences(of: "certificate-authority-data:", with: "").trimmingCharacters(in: .whitespaces)

        // A bearer token nobody issued: 401, "You must be logged in".
        let wrongToken = directory.appendingPathComponent("wrong-token")
        try Data(Self.kubeconfig(server: server, caData: ca, token: "not-a-token").utf8).write(to: wrongToken)
        let denied = try await Kubectl(kubeconfig: wrongToken.path).run(["get", "pods"])
        #expect(denied.status != 0)
        #expect(denied.stderr.contains("error: You must be logged in to the server"), "\(denied.stderr)")

        // The token from tokens.csv works.
        let token = try #require(
            try String(contentsOf: directory.appendingPathComponent("state/tokens.csv"), encoding: .utf8)
                .split(separator: ",").first.map(String.init))
        let tokenConfig = directory.appendingPathComponent("token")
        try Data(Self.kubeconfig(server: server, caData: ca, token: token).utf8).write(to: tokenConfig)
        let allowed = try await Kubectl(kubeconfig: tokenConfig.path).run(["get", "ns", "default"])
        #expect(allowed.status == 0, "\(allowed.stderr)")

        // Another CA: the server's certificate is not trusted.
        let otherCA = directory.appendingPathComponent("other-ca.crt")
        let openssl = try RunningProcess(
            kubeconfig: nil,
            arguments: [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                directory.appendingPathComponent("other-ca.key").path, "-out", otherCA.path, "-days", "1", "-subj",
                "/CN=other-ca",
            ], stdin: nil, executable: "/usr/bin/openssl")
        #expect(try await openssl.wait(timeout: .seconds(30)) == 0)
        let wrongCA = directory.appendingPathComponent("wrong-ca")
        let otherData = try Data(contentsOf: otherCA).base64EncodedString()
        try Data(Self.kubeconfig(server: server, caData: otherData, token: token).utf8).write(to: wrongCA)
        let untrusted = try await Kubectl(kubeconfig: wrongCA.path).run(["get", "pods"])
        #expect(untrusted.status != 0)
        #expect(untrusted.stderr.contains("certificate signed by unknown authority"), "\(untrusted.stderr)")

        // No credentials at all: a 401 Status, as kube-apiserver answers.
        let curl = try RunningProcess(
            kubeconfig: nil,
            arguments: ["-s", "-k", "-w", "\n%{http_code}", "\(server)/api/v1/namespaces/default/pods"], stdin: nil,
            executable: "/usr/bin/curl")
        #expect(try await curl.wait(timeout: .seconds(15)) == 0)
        #expect(curl.stdout.hasSuffix("\n401"))
        #expect(curl.stdout.contains("\"reason\":\"Unauthorized\""))
        kill(kubesim.pid, SIGTERM)
        #expect(try await kubesim.wait(timeout: .seconds(30)) == 0)
    }

    static func kubeconfig(server: String, caData: String, token: String) -> String {
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: c
          cluster: {server: "\(server)", certificate-authority-data: "\(caData)"}
        users:
        - name: u
          user: {token: "\(token)"}
        contexts:
        - name: x
          context: {cluster: c, user: u}
        current-context: x

        """
    }
}
