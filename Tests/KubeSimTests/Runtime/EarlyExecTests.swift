import Foundation
import Testing

@testable import KubeSim

/// A container counts as running only once its sandbox is set up, as with a real runtime (runc starts
/// the process after the root file system and the mounts are in place): an exec that arrives the moment
/// the status says running sees the container's volumes.
@Suite(.timeLimit(.minutes(3))) struct EarlyExecTests {
    @Test func anExecTheMomentTheContainerRunsSeesItsVolumes() async throws {
        let fixture = try RuntimeFixture()
        let data = try fixture.hostFolder("data", files: ["greeting": "hello"])
        // Many mounts make bubblewrap's set-up long enough for an early exec to land inside it.
        let extra = (0..<150).map { RuntimeVolumeMount(name: "data", mountPath: "/extra/\($0)") }
        var failures: [String] = []
        for round in 0..<8 {
            let pod = RuntimePod(
                uid: "early-exec-\(round)", namespace: "test", name: "early",
                containers: [
                    RuntimeContainer(
                        name: "main", command: ["sleep", "30"], workingDir: "/data",
                        volumeMounts: [RuntimeVolumeMount(name: "data", mountPath: "/data")] + extra)
                ],
                volumes: [RuntimeVolume(name: "data", source: .hostPath(data))])
            try await fixture.runtime.start(pod)
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if case .running = fixture.runtime.status(uid: pod.uid)?.containers.first?.state { break }
                await Task.yield()
            }
            do {
                let process = try await fixture.runtime.exec(
                    uid: pod.uid, container: "main", command: ["cat", "/data/greeting"], tty: false)
                try process.stdin.close()
                let stdout = process.stdout
                let output = await onDedicatedThread("test-read") {
                    String(decoding: stdout.readDataToEndOfFile(), as: UTF8.self)
                }
                let status = await process.wait()
                if status != 0 || output != "hello" { failures.append("round \(round): exit \(status), \(output)") }
            } catch {
                failures.append("round \(round): \(error)")
            }
            await fixture.runtime.stop(uid: pod.uid, gracePeriodSeconds: 0)
        }
        #expect(failures.isEmpty, "\(failures)")
        await fixture.tearDown()
    }
}
