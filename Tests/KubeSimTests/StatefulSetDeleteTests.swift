import Foundation
import KubeSim
import Testing

/// `kubectl delete pod web-0` of a StatefulSet, waiting as kubectl does by default: it GETs the pod,
/// then LISTs and WATCHes for its DELETED event. The controller recreates web-0 at once; if the old
/// pod went and the new one came between that GET and that LIST, kubectl 1.32 waited for ever.
@Suite(.serialized) struct StatefulSetDeleteTests {
    static let manifest = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: sts}
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: web, namespace: sts}
        spec:
          serviceName: web
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              terminationGracePeriodSeconds: 5
              containers:
              - {name: web, image: busybox, command: [sleep, "3600"]}
        """

    /// Each API response delayed by D (5 to 160 ms) puts kubectl's GET and LIST at D and 2D after the
    /// DELETE: the doubling delays cover every teardown time between 5 and 320 ms, so before the
    /// kubelet kept a deleted pod for its relist one of these deletes hung (until `--timeout`).
    @Test func deleteOfAStatefulSetPodReturnsWhateverTheAPIsLatency() async throws {
        let directory = temporaryDirectory("sts-delete")
        let server = try await KubeSimServer.start(directory: directory)
        defer { try? FileManager.default.removeItem(at: directory) }
        let kubectl = Kubectl(kubeconfig: server.kubeconfigPath)
        let file = directory.appendingPathComponent("sts.yaml")
        try Data(Self.manifest.utf8).write(to: file)
        #expect(try await kubectl.run(["apply", "-f", file.path]).status == 0)
        for delay in [5, 10, 20, 40, 80, 160] {
            let before = try await runningUID(kubectl)
            server.setResponseDelay(.milliseconds(delay))
            let deleted = try await kubectl.run(["delete", "pod", "web-0", "-n", "sts", "--timeout=60s"])
            server.setResponseDelay(.zero)
            #expect(deleted.status == 0, "response delay \(delay) ms: \(deleted.stderr)")
            #expect(deleted.stdout.contains(#"pod "web-0" deleted"#))
            #expect(try await runningUID(kubectl) != before)
        }
        await server.stop()
    }

    /// The UID of web-0 once it runs.
    private func runningUID(_ kubectl: Kubectl) async throws -> String {
        var uid = ""
        try await eventually("web-0 running", timeout: .seconds(90)) {
            let pod = try await kubectl.run([
                "get", "pod", "web-0", "-n", "sts", "-o", "jsonpath={.metadata.uid} {.status.phase}",
            ])
            let parts = pod.stdout.split(separator: " ")
            guard parts.count == 2, parts[1] == "Running" else { return false }
            uid = String(parts[0])
            return true
        }
        return uid
    }
}
