import Foundation
import Glibc
import KubeSim
import Testing

@testable import DevLoop

/// devloop and kubectl 1.32 against kubesim's 1.25 profile (v4 exec only, no SPDY tunnelled in a
/// WebSocket, a bare 403 for an unknown WebSocket subprotocol): the only coverage of the forward's
/// fallback to plain SPDY, and of exec without v5.
@Suite(.serialized, .timeLimit(.minutes(5))) struct Kubernetes125Tests {
    /// The built `devloop up` over each transport: the forward negotiates plain SPDY/3.1 and says so,
    /// the initial sync and an edit arrive (through v4 exec for `exec`), and the pod's log lines show.
    @Test(arguments: ["hostPath", "exec"])
    func aSessionForwardsSyncsAndStreamsLogs(transport: String) async throws {
        let project = try FixtureProject(
            extraConfig: "transport: \(transport)", emptyDir: transport == "exec",
            command: DevLoopAcceptanceTests.talkingServer)
        defer { project.remove() }
        try await KubeSimFixture.run(profile: .kubernetes125) { cluster in
            #expect(try await cluster.client.serverVersion().hasPrefix("v1.25."))
            let up = try DevLoopProcess(
                ["up", "--config", project.config], directory: project.root, kubeconfig: cluster.server.kubeconfigPath)
            try await up.waitForLine("the transport") { $0.hasPrefix("sync ") && $0.contains(" via \(transport)") }
            try await up.waitForLine("the forward") { $0.contains("forwarding http://127.0.0.1:\(project.port)") }
            #expect(await httpGet(port: project.port, path: "/index.html")?.body == "hello v1\n")
            let mode = try await up.waitForLine("the forward's protocol") { $0.hasPrefix("port-forward to pod ") }
            #expect(mode.hasSuffix(" over plain SPDY/3.1"), "\(mode)")
            try await up.waitForLine("the pod's log line") { $0.hasSuffix("| serving /app") }

            try project.write("app/index.html", "hello v2\n")
            try await up.waitForLine("the status line of the edit") { $0.contains("index.html: synced in") }
            #expect(await httpGet(port: project.port, path: "/index.html")?.body == "hello v2\n")
            up.signal(SIGTERM)
            #expect(await up.exitStatus() == 0, "\(up.output)")
            #expect(!up.output.contains("WebSocket streams"), "fell back past plain SPDY:\n\(up.output)")
        }
    }

    /// The contrast: against the 1.32 profile the same session tunnels SPDY in a WebSocket, so the
    /// line above really reports what was negotiated.
    @Test func aCurrentServerGetsTheTunnel() async throws {
        let project = try FixtureProject()
        defer { project.remove() }
        try await KubeSimFixture.run { cluster in
            let up = try DevLoopProcess(
                ["up", "--config", project.config], directory: project.root, kubeconfig: cluster.server.kubeconfigPath)
            try await up.waitForLine("the forward") { $0.contains("forwarding http://127.0.0.1:\(project.port)") }
            #expect(await httpGet(port: project.port, path: "/index.html")?.body == "hello v1\n")
            let mode = try await up.waitForLine("the forward's protocol") { $0.hasPrefix("port-forward to pod ") }
            #expect(mode.hasSuffix(" over SPDY/3.1 tunnelled in a WebSocket"), "\(mode)")
            up.signal(SIGTERM)
            #expect(await up.exitStatus() == 0, "\(up.output)")
        }
    }

    /// The real kubectl 1.32 falls back as it does against a 1.25 cluster: port-forward over plain SPDY.
    @Test func kubectlPortForwardWorks() async throws {
        try await KubeSimFixture.run(profile: .kubernetes125) { cluster in
            try await cluster.apply(
                KubeSimFixture.podManifest(
                    namespace: "old", name: "web",
                    command:
                        "mkdir -p /tmp/www && echo from-the-pod > /tmp/www/index.html && exec busybox httpd -f -p 8080 -h /tmp/www"
                ))
            try await cluster.waitForRunningPod("old", "web")
            let kubeconfig = cluster.server.kubeconfigPath
            let forward = try KubectlPortForward(kubeconfig: kubeconfig, namespace: "old", pod: "web")
            defer { forward.stop() }
            let port = try await forward.port()
            try await waitUntil("kubectl's forward answers", timeout: .seconds(20)) {
                await httpGet(port: port, path: "/index.html")?.body == "from-the-pod\n"
            }
        }
    }

    /// kubectl 1.32's exec offers only v5 over WebSocket; refused with the bare 403 it falls back to
    /// SPDY/3.1 with v4: stdout, stderr, the exit code and stdin (ended by FIN) all pass.
    @Test func kubectlExecFallsBackToSPDY() async throws {
        try await KubeSimFixture.run(profile: .kubernetes125) { cluster in
            try await cluster.apply(
                KubeSimFixture.podManifest(namespace: "old", name: "web", command: "exec sleep 600"))
            try await cluster.waitForRunningPod("old", "web")
            let kubeconfig = cluster.server.kubeconfigPath
            let exec = try await CommandRun.run(
                [
                    "--kubeconfig", kubeconfig, "-n", "old", "exec", "web", "--", "sh", "-c",
                    "echo out; echo err >&2; exit 3",
                ],
                directory: NSTemporaryDirectory(), executable: "/usr/bin/kubectl")
            #expect(exec.stdout == "out\n", "\(exec.combined)")
            #expect(exec.stderr.contains("err\n"), "\(exec.combined)")
            #expect(exec.status == 3, "\(exec.combined)")
            let input = try await CommandRun.run(
                ["--kubeconfig", kubeconfig, "-n", "old", "exec", "-i", "web", "--", "cat"],
                directory: NSTemporaryDirectory(), executable: "/usr/bin/kubectl", stdin: "through stdin\n")
            #expect(input.stdout == "through stdin\n" && input.status == 0, "\(input.combined)")
        }
    }

    /// What the 1.25 API server answers, byte for byte where clients decide on it: `/version`, and a
    /// bare 403 (no Status) for exec offering only v5 and for port-forward offering only the tunnel.
    @Test func unsupportedWebSocketSubprotocolsGetABare403() async throws {
        try await KubeSimFixture.run(profile: .kubernetes125) { cluster in
            try await cluster.apply(
                KubeSimFixture.podManifest(namespace: "old", name: "web", command: "exec sleep 600"))
            try await cluster.waitForRunningPod("old", "web")
            let version = try await cluster.client.get("/version")
            #expect(version["minor"]?.string == "25")
            for (path, offered) in [
                ("exec?command=true&stdout=true", "v5.channel.k8s.io"),
                ("portforward?ports=80", KubeClient.tunnelledSPDYProtocol),
            ] {
                let answer = try await Self.webSocketUpgrade(
                    cluster, "/api/v1/namespaces/old/pods/web/" + path, offered)
                #expect(answer.hasPrefix("HTTP/1.1 403 Forbidden\r\n"), "\(path): \(answer)")
                #expect(!answer.contains("Status"), "\(path): not bare: \(answer)")
            }
            let accepted = try await Self.webSocketUpgrade(
                cluster, "/api/v1/namespaces/old/pods/web/exec?command=true&stdout=true", "v4.channel.k8s.io")
            #expect(accepted.hasPrefix("HTTP/1.1 101"), "\(accepted)")
        }
    }

    /// The forward falls back from the tunnel on the kubelet's bare 403, but not on RBAC's 403.
    @Test func aBare403FallsBackAndAForbiddenStatusDoesNot() {
        #expect(KubeClient.refusal(403, Data()).fallBack)
        let forbidden = Data(
            #"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}"#.utf8)
        #expect(!KubeClient.refusal(403, forbidden).fallBack)
        #expect(!KubeClient.refusal(404, Data()).fallBack)
        #expect(KubeClient.refusal(400, Data()).fallBack)
    }

    /// The response head of a WebSocket upgrade (curl, verifying kubesim's CA, bearer token).
    static func webSocketUpgrade(_ cluster: KubeSimFixture, _ path: String, _ offered: String) async throws -> String {
        let result = try await CommandRun.run(
            [
                "-sS", "-i", "--http1.1", "--max-time", "3", "--cacert", cluster.directory.path + "/pki/ca.crt",
                "-H", "Authorization: Bearer \(cluster.server.token)", "-H", "Connection: Upgrade", "-H",
                "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13", "-H",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "-H", "Sec-WebSocket-Protocol: \(offered)",
                "https://127.0.0.1:\(cluster.server.port)\(path)",
            ], directory: NSTemporaryDirectory(), executable: "/usr/bin/curl", timeout: 20)
        return result.stdout
    }
}
