import Foundation
import KubeSim
import Testing

/// Issue 12: kubesim stopped while its kubelet was handling a change (a status report, an event, a
/// client's write) started the pod again on the runtime it had just shut down; that container outlived
/// `stop()` and ran beside the next kubesim's on the same folders (two tick loops on one emptyDir).
@Suite struct RebootTwiceTests {
    static let restarts = 6

    /// Stopped `restarts` times under a stream of writes: after each start exactly one process of the
    /// container is alive and the restart count went up by one; after the last stop, none.
    @Test func everyRestartRunsTheContainerOnce() async throws {
        let directory = temporaryDirectory("reboot-once")
        defer { try? FileManager.default.removeItem(at: directory) }
        // A number no other process's argument is: the container's processes are found by it.
        let marker = String(7_000_000 + Int.random(in: 0..<1_000_000))
        let pod: JSON = [
            "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "once", "namespace": "default"],
            "spec": ["containers": [["name": "main", "image": "busybox", "command": ["sleep", .string(marker)]]]],
        ]
        var server = try await KubeSimServer.start(directory: directory)
        _ = try await server.api.create(.pods, namespace: "default", body: pod)
        for run in 0...Self.restarts {
            let current = server
            try await eventually("run \(run): the container running with restart count \(run)", timeout: .seconds(60)) {
                let status = try await current.api.get(.pods, namespace: "default", name: "once")[
                    path: ["status", "containerStatuses"]]?.arrayValue?.first
                return status?["restartCount"]?.intValue == run && status?[path: ["state", "running"]] != nil
            }
            #expect(Self.processes(running: marker) == 1, "run \(run): processes of the container")
            guard run < Self.restarts else { break }
            // Changes keep the kubelet syncing while it shuts down.
            let writes = Task { await Self.churn(current) }
            await current.stop()
            writes.cancel()
            await writes.value
            // Nothing of the stopped kubesim may start later, either.
            try await Task.sleep(for: .milliseconds(300))
            #expect(Self.processes(running: marker) == 0, "run \(run): processes left after stop()")
            server = try await KubeSimServer.start(directory: directory, options: .init(port: current.port))
        }
        await server.stop()
        #expect(Self.processes(running: marker) == 0, "processes left after the last stop()")
    }

    /// Stopped while its kubelet starts the pod just created: nothing of the pod may run afterwards.
    @Test func aStopDuringThePodsStartLeavesNoProcess() async throws {
        for run in 1...5 {
            let marker = String(8_000_000 + Int.random(in: 0..<1_000_000))
            let server = try await KubeSimServer.startTemporary()
            defer { try? FileManager.default.removeItem(at: server.directory) }
            let pod: JSON = [
                "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "early", "namespace": "default"],
                "spec": ["containers": [["name": "main", "image": "busybox", "command": ["sleep", .string(marker)]]]],
            ]
            _ = try await server.api.create(.pods, namespace: "default", body: pod)
            try await Task.sleep(for: .milliseconds(5 * run))
            await server.stop()
            try await Task.sleep(for: .milliseconds(500))
            #expect(Self.processes(running: marker) == 0, "run \(run): processes left after stop()")
        }
    }

    /// ConfigMap writes until cancelled or refused (the store closed).
    static func churn(_ server: KubeSimServer) async {
        for index in 0..<10_000 where !Task.isCancelled {
            let map: JSON = [
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": ["name": .string("churn-\(index)"), "namespace": "default"],
            ]
            guard (try? await server.api.create(.configMaps, namespace: "default", body: map)) != nil else { return }
        }
    }

    /// Processes whose command line is `sleep MARKER` (the container's, seen from the host's /proc).
    static func processes(running marker: String) -> Int {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.filter { pid in
            guard Int(pid) != nil, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
                return false
            }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.count == 2 && arguments[0].hasSuffix("sleep") && arguments[1] == marker
        }.count
    }
}
