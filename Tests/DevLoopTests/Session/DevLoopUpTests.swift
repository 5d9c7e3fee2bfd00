import DevLoop
import Foundation
import Glibc
import KubeSim
import Testing

/// `devloop` run as a user runs it, against kubesim, with the fixture project.
@Suite(.serialized, .timeLimit(.minutes(5))) struct DevLoopUpTests {
    /// up on the embedded kubesim serves the page; an edit shows on the next request; a second up is
    /// refused with the running pid; status reads the session; Ctrl-C stops all of it and exits 0.
    @Test func upServesEditsAndStopsCleanlyOnCtrlC() async throws {
        let project = try FixtureProject()
        defer { project.remove() }
        let up = try DevLoopProcess(["up", "--config", project.config, "--sim"], directory: project.root)
        try await up.waitForLine("the embedded kubesim line") {
            $0.contains("KUBECONFIG=\(project.root)/.devloop/kubesim/")
        }
        let forwarding = try await up.waitForLine("the forward") {
            $0.contains("forwarding http://127.0.0.1:\(project.port)")
        }
        #expect(forwarding.hasSuffix(" -> pod port http (5000)"), "the named port resolved: \(forwarding)")
        let first = await httpGet(port: project.port, path: "/index.html")
        #expect(first?.status == 200)
        #expect(first?.body == "hello v1\n")

        try project.write("app/index.html", "hello v2\n")
        try await up.waitForLine("the status line of the edit") { $0.contains("index.html: synced in") }
        let second = await httpGet(port: project.port, path: "/index.html")
        #expect(second?.body == "hello v2\n")

        let again = try await DevLoopProcess.run(["up", "--config", project.config, "--sim"], directory: project.root)
        #expect(again.status == 1)
        #expect(again.output.contains("already running (pid \(up.process.processIdentifier))"), "\(again.output)")

        let status = try await DevLoopProcess.run(
            ["status", "--config", project.config, "--json"], directory: project.root)
        #expect(status.status == 0, "\(status.output)")
        let json = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any]
        #expect(json?["running"] as? Bool == true)
        #expect(json?["namespace"] as? String == project.namespace)
        #expect((json?["pod"] as? [String: Any])?["ready"] as? Bool == true)
        #expect(json?["transport"] as? String == "hostPath")

        up.signal(SIGINT)
        #expect(await up.exitStatus() == 0, "\(up.output)")
        #expect(processes(mentioning: project.root).isEmpty, "left behind: \(processes(mentioning: project.root))")
        #expect(await httpGet(port: project.port) == nil, "the forward still answers after Ctrl-C")
    }

    /// Against a cluster from a kubeconfig (kubesim the test runs): `down` stops the session, deletes
    /// the labelled namespace, and leaves no pod process; a second `down` is a no-op that succeeds.
    @Test func downStopsTheSessionAndDeletesTheNamespace() async throws {
        let project = try FixtureProject()
        defer { project.remove() }
        let cluster = try await KubeSimFixture.start()
        do {
            let kubeconfig = cluster.server.kubeconfigPath
            let up = try DevLoopProcess(
                ["up", "--config", project.config], directory: project.root, kubeconfig: kubeconfig)
            try await up.waitForLine("the forward") { $0.contains("forwarding http://127.0.0.1:\(project.port)") }
            #expect(await httpGet(port: project.port, path: "/index.html")?.body == "hello v1\n")

            let down = try await DevLoopProcess.run(
                ["down", "--config", project.config], directory: project.root, kubeconfig: kubeconfig)
            #expect(down.status == 0, "\(down.output)")
            #expect(await up.exitStatus() == 0, "\(up.output)")
            await #expect(throws: KubeClientError.self) {
                _ = try await cluster.client.get("/api/v1/namespaces/\(project.namespace)")
            }
            try await waitUntil("no pod process of the session is left", timeout: .seconds(30)) {
                processes(mentioning: project.hostPath).isEmpty
            }
            let again = try await DevLoopProcess.run(
                ["down", "--config", project.config], directory: project.root, kubeconfig: kubeconfig)
            #expect(again.status == 0, "\(again.output)")
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    /// A namespace that exists without the dev label: exit 2 and nothing in it or on it changes.
    @Test func anUnlabelledNamespaceIsRefusedAndLeftUntouched() async throws {
        let project = try FixtureProject(namespace: "someones-team")
        defer { project.remove() }
        let cluster = try await KubeSimFixture.start()
        do {
            try await cluster.apply(
                """
                apiVersion: v1
                kind: Namespace
                metadata:
                  name: someones-team
                  labels: {team: a}
                """)
            let before = try await cluster.client.get("/api/v1/namespaces/someones-team")
            let up = try await DevLoopProcess.run(
                ["up", "--config", project.config], directory: project.root, kubeconfig: cluster.server.kubeconfigPath)
            #expect(up.status == 2, "\(up.output)")
            #expect(up.output.contains("devloop.dev/dev"), "\(up.output)")
            let after = try await cluster.client.get("/api/v1/namespaces/someones-team")
            #expect(after[path: "metadata", "labels"] == before[path: "metadata", "labels"])
            #expect(after[path: "metadata", "resourceVersion"] == before[path: "metadata", "resourceVersion"])
            let deployments = try await cluster.client.get("/apis/apps/v1/namespaces/someones-team/deployments")
            #expect(deployments["items"]?.array?.isEmpty == true)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    /// A forward to a container port name the pod does not declare ends `up` (exit 1) before the local
    /// port opens, naming the config's field and the names the pod does declare, as kubectl port-forward
    /// refuses one; nothing is left running.
    @Test func anUndeclaredPortNameEndsUpNamingTheFieldAndTheDeclaredPorts() async throws {
        let project = try FixtureProject(remote: "htp")
        defer { project.remove() }
        let up = try await DevLoopProcess.run(
            ["up", "--config", project.config, "--sim"], directory: project.root, timeout: .seconds(120))
        #expect(up.status == 1, "\(up.output)")
        #expect(
            up.output.contains(
                "\(project.config): forwards[0].remote: pod fixture-"), "\(up.output)")
        #expect(
            up.output.contains("declares no container port named `htp` (named ports: http=5000 (app))"), "\(up.output)")
        #expect(!up.output.contains("forwarding http://"), "\(up.output)")
        #expect(processes(mentioning: project.root).isEmpty, "left behind: \(processes(mentioning: project.root))")
    }

    /// A broken config exits 2 naming file, line and field, before any cluster is started or touched.
    @Test func aBrokenConfigExitsTwoNamingFileAndFieldWithNothingStarted() async throws {
        let project = try FixtureProject(extraConfig: "transprot: exec")
        defer { project.remove() }
        let up = try await DevLoopProcess.run(["up", "--config", project.config, "--sim"], directory: project.root)
        #expect(up.status == 2, "\(up.output)")
        #expect(up.output.contains("\(project.config):"), "\(up.output)")
        #expect(up.output.contains("transprot"), "\(up.output)")
        #expect(!FileManager.default.fileExists(atPath: project.root + "/.devloop"), "something was started")
    }

    /// A manifest outside the dev namespace is refused before anything is sent: exit 2, no namespace made.
    @Test func aManifestOutsideTheDevNamespaceExitsTwoWithNothingApplied() async throws {
        let project = try FixtureProject()
        defer { project.remove() }
        try project.write(
            "k8s/other.yaml",
            """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: sneaky
              namespace: default
            """)
        let cluster = try await KubeSimFixture.start()
        do {
            let up = try await DevLoopProcess.run(
                ["up", "--config", project.config], directory: project.root, kubeconfig: cluster.server.kubeconfigPath)
            #expect(up.status == 2, "\(up.output)")
            #expect(up.output.contains("other.yaml"), "\(up.output)")
            await #expect(throws: KubeClientError.self) {
                _ = try await cluster.client.get("/api/v1/namespaces/\(project.namespace)")
            }
            await #expect(throws: KubeClientError.self) {
                _ = try await cluster.client.get("/api/v1/namespaces/default/configmaps/sneaky")
            }
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    /// A context that exists but fails is an error in doctor's words, never a fallback to kubesim.
    @Test func aFailingContextIsAnErrorNotAFallback() async throws {
        let project = try FixtureProject()
        defer { project.remove() }
        let kubeconfig = project.root + "/broken-kubeconfig"
        try """
        apiVersion: v1
        kind: Config
        clusters:
        - name: gone
          cluster: {server: "https://127.0.0.1:\(freePort())", insecure-skip-tls-verify: true}
        users:
        - name: someone
          user: {token: not-a-secret}
        contexts:
        - name: gone
          context: {cluster: gone, user: someone}
        current-context: gone
        """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let up = try await DevLoopProcess.run(
            ["up", "--config", project.config], directory: project.root, kubeconfig: kubeconfig)
        #expect(up.status == 1, "\(up.output)")
        #expect(up.output.contains("context \"gone\""), "\(up.output)")
        #expect(up.output.contains("[FAIL] reach the API server"), "\(up.output)")
        #expect(!up.output.contains("not-a-secret"))
        #expect(!FileManager.default.fileExists(atPath: project.root + "/.devloop/kubesim"), "fell back to kubesim")
    }
}
