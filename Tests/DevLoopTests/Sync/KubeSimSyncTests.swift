import Foundation
import KubeSim
import Testing

@testable import DevLoop

/// The sync engine against a real kubesim pod: exec through the Kube client's pod exec (WebSocket),
/// into a pod whose /app is a hostPath volume; the property check compares that host folder.
@Suite(.serialized) struct KubeSimSyncTests {
    static func podManifest(hostPath: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: sync
          namespace: default
        spec:
          containers:
          - name: dev
            image: debian:bookworm
            command: ["sleep", "3600"]
            volumeMounts:
            - name: src
              mountPath: /app
          volumes:
          - name: src
            hostPath:
              path: \(hostPath)
        """
    }

    @Test func execTarConvergesInAKubeSimPod() async throws {
        let dir = TempDir("devloop-kubesim")
        defer { dir.remove() }
        let hostPath = dir.sub("hostpath")
        let server = try await KubeSimServer.start(
            directory: URL(fileURLWithPath: dir.sub("state")), options: .init(port: 0))
        do {
            let manifest = dir.path + "/pod.yaml"
            try Self.podManifest(hostPath: hostPath).write(toFile: manifest, atomically: true, encoding: .utf8)
            let kubectl = ["/usr/bin/kubectl", "--kubeconfig", server.kubeconfigPath]
            let applied = try await IgnoreRulesTests.runStatus(kubectl + ["apply", "-f", manifest])
            try #require(applied.status == 0, "kubectl apply: \(applied.output)")
            let ready = try await IgnoreRulesTests.runStatus(
                kubectl + ["wait", "--for=condition=Ready", "pod/sync", "--timeout=90s"])
            try #require(ready.status == 0, "the pod did not become ready: \(ready.output)")
            let config = try KubeClientConfig.load(loader: KubeConfigLoader(explicitPath: server.kubeconfigPath))
            let executor = PodExecutor(client: KubeClient(config: config), namespace: "default", pod: "sync")
            // auto: the pod sees the host folder, so HostPath wins; a folder it does not see loses.
            let seen = await TransportSelector.select(
                options: SyncOptions(source: dir.sub("probe"), destination: "/app", hostPath: hostPath),
                executor: executor)
            #expect(seen.transport.name == "hostPath", "\(seen.reason)")
            let unseen = await TransportSelector.select(
                options: SyncOptions(source: dir.sub("probe"), destination: "/app", hostPath: dir.sub("elsewhere")),
                executor: executor)
            #expect(unseen.transport.name == "exec+tar", "\(unseen.reason)")
            // The reason says what the pod saw: its cat of the probe found nothing.
            #expect(unseen.reason.contains("(cat /app/.devloop-probe-"), "\(unseen.reason)")
            #expect(unseen.reason.contains(" exited 1: "), "\(unseen.reason)")
            // Each run starts from what the last one left: the initial reconcile must clean it up.
            for seed in UInt64(1)...3 {
                try await ConvergenceTests.converge(seed: 3_000 + seed, operations: 150, destinationDirectory: hostPath)
                {
                    source, _ in
                    ExecTarTransport(source: source, destination: "/app", executor: executor)
                }
            }
            // Nothing but the pod's exec writes there: a converged, non-empty tree came through it.
            #expect(TreeSnapshot(hostPath).items.count > 5)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// Over a 1.25-like server (v4 only: stdin is never closed) batch after batch goes through one
    /// exec, as kubesim counts them; cut streams (a dropped connection) cost one exec more, and the
    /// next batch lands.
    @Test(.timeLimit(.minutes(3))) func batchesShareOneExecOverV4() async throws {
        try await KubeSimFixture.run(profile: .kubernetes125) { sim in
            let hostPath = sim.directory.appendingPathComponent("hostpath").path
            try FileManager.default.createDirectory(atPath: hostPath, withIntermediateDirectories: true)
            try await sim.apply(Self.podManifest(hostPath: hostPath))
            try await sim.waitForRunningPod("default", "sync")
            let source = sim.directory.appendingPathComponent("src").path
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            let executor = PodExecutor(client: sim.client, namespace: "default", pod: "sync")
            let transport = ExecTarTransport(source: source, destination: "/app", executor: executor)
            let execs = { sim.server.requests.requests.filter { $0.path.hasSuffix("/exec") }.count }
            sim.server.requests.start()
            for round in 0..<20 {
                writeFile(source + "/edit.txt", "edit \(round)\n")
                try await transport.apply(SyncBatch([.file("edit.txt", mode: 0o644)]))
                #expect(FileManager.default.contents(atPath: hostPath + "/edit.txt") == Data("edit \(round)\n".utf8))
            }
            #expect(execs() == 1, "\(sim.server.requests.requests)")
            sim.server.cutStreams()
            writeFile(source + "/edit.txt", "after the cut\n")
            try await transport.apply(SyncBatch([.file("edit.txt", mode: 0o644)]))
            #expect(FileManager.default.contents(atPath: hostPath + "/edit.txt") == Data("after the cut\n".utf8))
            #expect(execs() == 2)
            #expect(await transport.sessionExecs == 2)
            await transport.close()
        }
    }
}
