import Foundation
import Testing

@testable import KubeSim

@Suite("BubblewrapPodRuntime: bad input and figures")
struct RuntimeEdgeTests {
    @Test func badPodsAreRefusedWithAMessageAndNothingStarts() async throws {
        let fixture = try RuntimeFixture()
        let undeclared = RuntimePod(
            uid: "bad-1", namespace: "test", name: "bad",
            containers: [
                RuntimeContainer(
                    name: "main", command: ["true"], volumeMounts: [RuntimeVolumeMount(name: "nope", mountPath: "/x")])
            ])
        let error = await #expect(throws: RuntimeError.self) { try await fixture.runtime.start(undeclared) }
        #expect(error?.message.contains("volume \"nope\"") == true)
        let nameless = RuntimePod(
            uid: "bad-2", namespace: "test", name: "bad", containers: [RuntimeContainer(name: "main")])
        #expect(fixture.runtime.status(uid: "bad-1") == nil)
        // Without a command the pod starts and its container waits, saying what to add, as a kubelet
        // keeps a container it cannot create.
        try await fixture.runtime.start(nameless)
        try await eventually("the container waiting with CreateContainerError") {
            guard
                case .waiting("CreateContainerError", let message) = fixture.runtime.status(uid: "bad-2")?.containers
                    .first?.state
            else { return false }
            return message?.contains("give the container a command") == true
        }
        #expect(fixture.runtime.status(uid: "bad-2")?.phase == "Pending")
        await fixture.runtime.stop(uid: "bad-2", gracePeriodSeconds: 0)

        let good = RuntimePod(
            uid: "twice", namespace: "test", name: "twice",
            containers: [RuntimeContainer(name: "main", command: ["sleep", "5"])])
        try await fixture.runtime.start(good)
        await #expect(throws: RuntimeError.self) { try await fixture.runtime.start(good) }

        let brokenState = fixture.folder.appendingPathComponent("broken")
        let broken = BubblewrapPodRuntime(
            configuration: BubblewrapRuntimeConfiguration(
                stateDirectory: brokenState, bubblewrapPath: "/nonexistent/bwrap"))
        let spawn = await #expect(throws: SpawnError.self) { try await broken.start(good) }
        #expect(spawn?.description.contains("/nonexistent/bwrap") == true)
        #expect(
            (try? FileManager.default.contentsOfDirectory(atPath: brokenState.path)) == [], "no half-made pod folder")
        await broken.shutdown()
        await fixture.tearDown()
    }

    @Test func killedContainerRestartsLikeACrash() async throws {
        let fixture = try RuntimeFixture()
        let pod = RuntimePod(
            uid: "kill-1", namespace: "test", name: "victim",
            containers: [RuntimeContainer(name: "main", command: ["sh", "-c", "echo up; sleep 60"])])
        try await fixture.runtime.start(pod)
        let first = try await fixture.waitFor(pod.uid, "Running") { $0.phase == "Running" }
        await fixture.runtime.killContainer(uid: pod.uid, container: "main")
        let status = try await fixture.waitFor(pod.uid, "restarted") {
            if case .running = $0.containers[0].state { $0.containers[0].restartCount == 1 } else { false }
        }
        guard case .terminated(137, _, "Error", _, _) = status.containers[0].lastState else {
            Issue.record("lastState: \(String(describing: status.containers[0].lastState))")
            return
        }
        #expect(status.containers[0].containerID != first.containers[0].containerID)
        let previous = await collect(
            try fixture.runtime.logLines(uid: pod.uid, container: "main", previous: true, follow: false))
        #expect(previous.map(\.text) == ["up"])
        await fixture.tearDown()
    }

    @Test func aSlowExecProbeFailsAndIsKilled() async throws {
        let fixture = try RuntimeFixture()
        let marker = "kubesim-probe-\(UUID().uuidString)"
        let pod = RuntimePod(
            uid: "slow-probe", namespace: "test", name: "slow",
            containers: [
                RuntimeContainer(
                    name: "main", command: ["sleep", "30"], env: ["MARKER": marker],
                    readinessProbe: RuntimeProbe(
                        action: .exec(["sleep", "7"]), periodSeconds: 0.1, timeoutSeconds: 0.2))
            ])
        try await fixture.runtime.start(pod)
        try await fixture.waitFor(pod.uid, "Running") { $0.phase == "Running" }
        try await Task.sleep(for: .milliseconds(1500))
        #expect(fixture.runtime.status(uid: pod.uid)?.ready == false)
        // Each timed-out probe is killed: they do not pile up (one running at a time, in its sandbox).
        var counts: [Int] = []
        for _ in 0..<10 {
            counts.append(
                processes(containing: marker).filter { pid in
                    (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.hasPrefix("sleep\u{0}7")
                        == true
                }.count)
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(counts.max() == 1, "probe processes seen: \(counts)")
        await fixture.tearDown()
        #expect(processes(containing: marker).isEmpty)
    }

    @Test func figures() async throws {
        let fixture = try RuntimeFixture()
        let site = try fixture.hostFolder("site", files: ["index.txt": "x"])
        var pod = httpServerPod(uid: "figures", folder: site)
        pod.containers[0].readinessProbe?.periodSeconds = 0.05
        let clock = ContinuousClock()
        let started = clock.now
        try await fixture.runtime.start(pod)
        let startCall = clock.now - started
        try await fixture.waitFor(pod.uid, "Running") { $0.phase == "Running" }
        let running = clock.now - started
        try await fixture.waitFor(pod.uid, "Ready") { $0.ready }
        let ready = clock.now - started

        var dials: [Duration] = []
        for _ in 0..<20 {
            let before = clock.now
            close(try await fixture.runtime.dial(uid: pod.uid, port: 5000))
            dials.append(clock.now - before)
        }
        var execs: [Duration] = []
        for _ in 0..<5 {
            let before = clock.now
            let process = try await fixture.runtime.exec(uid: pod.uid, container: "web", command: ["true"], tty: false)
            #expect(await process.wait() == 0)
            execs.append(clock.now - before)
        }
        let stopping = clock.now
        await fixture.runtime.stop(uid: pod.uid, gracePeriodSeconds: 5)
        let stop = clock.now - stopping
        func median(_ values: [Duration]) -> Duration { values.sorted()[values.count / 2] }
        print(
            "runtime figures: start() \(startCall), Running after \(running), Ready (python http.server) after \(ready), "
                + "dial median \(median(dials)), exec `true` median \(median(execs)), stop (SIGTERM) \(stop)")
        await fixture.tearDown()
    }
}
