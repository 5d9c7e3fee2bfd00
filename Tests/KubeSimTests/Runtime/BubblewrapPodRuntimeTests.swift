import Foundation
import Testing

@testable import KubeSim

@Suite("BubblewrapPodRuntime: pods as bubblewrap sandboxes")
struct BubblewrapPodRuntimeTests {
    @Test func httpServerPodBecomesReadyAndIsReachedOnlyThroughDial() async throws {
        let fixture = try RuntimeFixture()
        let marker = "kubesim-test-\(UUID().uuidString)"
        let site = try fixture.hostFolder("site", files: ["index.txt": "first \(marker)\n"])
        let pod = httpServerPod(uid: "ready-1", folder: site, port: 5000, marker: marker)
        try await fixture.runtime.start(pod)
        let status = try await fixture.waitFor(pod.uid, "Ready") { $0.ready }
        #expect(status.phase == "Running")
        #expect(status.containers.first?.containerID.hasPrefix("kubesim://") == true)

        let body = await httpGet(try await fixture.runtime.dial(uid: pod.uid, port: 5000), path: "/index.txt")
        #expect(body == "first \(marker)\n")
        try "changed \(marker)\n".write(toFile: site + "/index.txt", atomically: true, encoding: .utf8)
        let changed = await httpGet(try await fixture.runtime.dial(uid: pod.uid, port: 5000), path: "/index.txt")
        #expect(changed == "changed \(marker)\n")

        // The pod's port 5000 is in its own network namespace: the host's 127.0.0.1:5000 is something else.
        let host = NetworkNamespaceDialer(namespacePath: "/proc/self/ns/net", podName: "host")
        if let fd = try? await host.connect(port: 5000) {
            #expect(!(await httpGet(fd, path: "/index.txt")).contains(marker))
        }
        await fixture.tearDown()
    }

    @Test func twoPodsListenOnTheSamePort() async throws {
        let fixture = try RuntimeFixture()
        let one = httpServerPod(uid: "same-port-1", folder: try fixture.hostFolder("one", files: ["name": "one"]))
        let two = httpServerPod(uid: "same-port-2", folder: try fixture.hostFolder("two", files: ["name": "two"]))
        try await fixture.runtime.start(one)
        try await fixture.runtime.start(two)
        try await fixture.waitFor(one.uid, "Ready") { $0.ready }
        try await fixture.waitFor(two.uid, "Ready") { $0.ready }
        #expect(await httpGet(try await fixture.runtime.dial(uid: one.uid, port: 5000), path: "/name") == "one")
        #expect(await httpGet(try await fixture.runtime.dial(uid: two.uid, port: 5000), path: "/name") == "two")
        await fixture.tearDown()
    }

    @Test func dialToAClosedPortFailsWithTheReason() async throws {
        let fixture = try RuntimeFixture()
        let pod = RuntimePod(
            uid: "refuse-1", namespace: "test", name: "idle",
            containers: [RuntimeContainer(name: "idle", command: ["sleep", "30"])])
        try await fixture.runtime.start(pod)
        try await fixture.waitFor(pod.uid, "Running") { $0.phase == "Running" }
        let error = await #expect(throws: DialError.self) { try await fixture.runtime.dial(uid: pod.uid, port: 5999) }
        #expect(error?.message.contains("localhost:5999") == true)
        #expect(error?.message.contains("connection refused") == true)
        await #expect(throws: RuntimeError.self) { try await fixture.runtime.dial(uid: "no-such-pod", port: 5000) }
        await fixture.tearDown()
    }

    @Test func execRoundTripsStdinAndReturnsTheExitCode() async throws {
        let fixture = try RuntimeFixture()
        let data = try fixture.hostFolder("data", files: ["greeting": "hello from the host"])
        let pod = RuntimePod(
            uid: "exec-1", namespace: "test", name: "shell",
            containers: [
                RuntimeContainer(
                    name: "main", command: ["sleep", "30"], env: ["FROM_SPEC": "spec-value"],
                    volumeMounts: [RuntimeVolumeMount(name: "data", mountPath: "/data")])
            ],
            volumes: [RuntimeVolume(name: "data", source: .hostPath(data))])
        try await fixture.runtime.start(pod)
        try await fixture.waitFor(pod.uid, "Running") { $0.phase == "Running" }

        let process = try await fixture.runtime.exec(
            uid: pod.uid, container: "main",
            command: ["sh", "-c", "cat; cat /data/greeting; echo \" $FROM_SPEC\" >&2; exit 3"],
            tty: false)
        try process.stdin.write(contentsOf: Data("typed input\n".utf8))
        try process.stdin.close()
        let stdout = process.stdout
        let stderr = process.stderr
        let output = await onDedicatedThread("test-read") {
            String(decoding: stdout.readDataToEndOfFile(), as: UTF8.self)
        }
        let errors = await onDedicatedThread("test-read") {
            String(decoding: stderr.readDataToEndOfFile(), as: UTF8.self)
        }
        #expect(await process.wait() == 3)
        #expect(output == "typed input\nhello from the host")
        #expect(errors == " spec-value\n")
        await #expect(throws: RuntimeError.self) {
            _ = try await fixture.runtime.exec(uid: pod.uid, container: "nope", command: ["true"], tty: false)
        }

        // The sandbox: hostname = pod name, host folders read-only, a writable home, no CAP_SYS_ADMIN.
        let probe = try await fixture.runtime.exec(
            uid: pod.uid, container: "main",
            command: [
                "sh", "-c",
                "cat /proc/sys/kernel/hostname; getent hosts shell; touch /usr/kubesim-test 2>/dev/null || echo usr-read-only; "
                    + "touch /root/ok && echo home-writable; grep CapEff /proc/self/status",
            ], tty: false)
        try probe.stdin.close()
        let probeOutput = probe.stdout
        let report = await onDedicatedThread("test-read") {
            String(decoding: probeOutput.readDataToEndOfFile(), as: UTF8.self)
        }
        #expect(await probe.wait() == 0)
        let lines = report.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(4)) == ["shell", "127.0.0.1       shell", "usr-read-only", "home-writable"])
        let capabilities = UInt64(lines.last?.split(separator: "\t").last ?? "", radix: 16) ?? .max
        #expect(capabilities & (1 << 21) == 0, "CAP_SYS_ADMIN is dropped: \(report)")
        await fixture.tearDown()
    }

    @Test func logsCarryTimestampsAndFollowEndsWhenTheContainerExits() async throws {
        let fixture = try RuntimeFixture()
        let pod = RuntimePod(
            uid: "logs-1", namespace: "test", name: "talker",
            containers: [
                RuntimeContainer(
                    name: "main", command: ["sh", "-c", "echo one; sleep 0.5; echo two >&2; sleep 0.3; echo three"])
            ], restartPolicy: "Never")
        try await fixture.runtime.start(pod)
        try await fixture.waitFor(pod.uid, "Running") { $0.phase == "Running" }
        let followed = await collect(
            try fixture.runtime.logLines(uid: pod.uid, container: "main", previous: false, follow: true))
        #expect(followed.map(\.text) == ["one", "two", "three"])
        #expect(followed.map(\.stream) == ["stdout", "stderr", "stdout"])
        let stamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/
        #expect(followed.allSatisfy { $0.timestamp.wholeMatch(of: stamp) != nil })
        #expect(zip(followed, followed.dropFirst()).allSatisfy { $0.date <= $1.date })
        let status = try await fixture.waitFor(pod.uid, "Succeeded") { $0.phase == "Succeeded" }
        guard case .terminated(let code, _, let reason, _, _) = status.containers[0].state else {
            Issue.record("not terminated: \(status)")
            return
        }
        #expect(code == 0 && reason == "Completed")
        // After the exit, the same lines without follow; no previous instance.
        let again = await collect(
            try fixture.runtime.logLines(uid: pod.uid, container: "main", previous: false, follow: true))
        #expect(again == followed)
        #expect(throws: RuntimeError.self) {
            try fixture.runtime.logLines(uid: pod.uid, container: "main", previous: true, follow: false)
        }
        await fixture.tearDown()
    }

    @Test func crashingContainerRestartsWithBackOffAndKeepsThePreviousLog() async throws {
        let fixture = try RuntimeFixture(backOffBase: .milliseconds(400), backOffMax: .seconds(2))
        let pod = RuntimePod(
            uid: "crash-1", namespace: "test", name: "crasher",
            containers: [RuntimeContainer(name: "main", command: ["sh", "-c", "echo started $(date +%s%N); exit 2"])])
        // Every published status, not samples of it: a poll starved on a loaded machine missed the
        // CrashLoopBackOff window between two starts.
        let updates = Task {
            var seen: [RuntimePodStatus] = []
            for await (uid, status) in fixture.runtime.statusUpdates where uid == pod.uid {
                seen.append(status)
                if status.containers[0].restartCount >= 3 { break }
            }
            return seen
        }
        try await fixture.runtime.start(pod)
        try await fixture.waitFor(pod.uid, timeout: .seconds(120), "three restarts") {
            $0.containers[0].restartCount >= 3
        }
        let seen = await updates.value
        var starts: [Date] = []
        var sawBackOff = false
        for container in seen.map({ $0.containers[0] }) {
            if case .running(let startedAt) = container.state, starts.last != startedAt { starts.append(startedAt) }
            if case .terminated(_, _, _, let startedAt, _) = container.lastState, !starts.contains(startedAt) {
                starts.append(startedAt)
            }
            if case .waiting("CrashLoopBackOff", let message) = container.state, message?.contains("back-off") == true {
                sawBackOff = true
            }
        }
        #expect(sawBackOff, "published states: \(seen.map { $0.containers[0].state })")
        let status = try #require(fixture.runtime.status(uid: pod.uid))
        guard case .terminated(2, _, "Error", _, _) = status.containers[0].lastState else {
            Issue.record("lastState is not the crash: \(status)")
            return
        }
        #expect(status.phase == "Running")
        // No back-off before the first restart, then 400 ms, then 800 ms (lower bounds only).
        let sorted = starts.sorted()
        let gaps = zip(sorted, sorted.dropFirst()).map { $1.timeIntervalSince($0) }
        if gaps.count >= 3 {
            #expect(gaps[1] >= 0.39 && gaps[2] >= 0.79, "gaps between starts: \(gaps)")
        }
        let current = await collect(
            try fixture.runtime.logLines(uid: pod.uid, container: "main", previous: false, follow: false))
        let previous = await collect(
            try fixture.runtime.logLines(uid: pod.uid, container: "main", previous: true, follow: false))
        // During the back-off, the current log is the crashed instance's too (kubelet serves the last one).
        #expect(previous.count == 1 && previous[0].text.hasPrefix("started "))
        #expect(current.count <= 1 && current.allSatisfy { $0.text.hasPrefix("started ") })
        await fixture.tearDown()
    }

    @Test func failingLivenessProbeRestartsTheContainer() async throws {
        let fixture = try RuntimeFixture()
        let data = try fixture.hostFolder("data", files: ["alive": "yes"])
        let pod = RuntimePod(
            uid: "liveness-1", namespace: "test", name: "lively",
            containers: [
                RuntimeContainer(
                    name: "main", command: ["sleep", "60"],
                    volumeMounts: [RuntimeVolumeMount(name: "data", mountPath: "/data")],
                    readinessProbe: RuntimeProbe(action: .tcpSocket(port: 5999), periodSeconds: 0.2),
                    livenessProbe: RuntimeProbe(
                        action: .exec(["test", "-f", "/data/alive"]), periodSeconds: 0.2, failureThreshold: 2))
            ],
            volumes: [RuntimeVolume(name: "data", source: .hostPath(data))], terminationGracePeriodSeconds: 1)
        try await fixture.runtime.start(pod)
        try await fixture.waitFor(pod.uid, "Running") { $0.phase == "Running" }
        try await Task.sleep(for: .milliseconds(800))
        let healthy = try #require(fixture.runtime.status(uid: pod.uid))
        #expect(healthy.containers[0].restartCount == 0)
        #expect(!healthy.ready, "nothing listens on 5999, so the tcpSocket readiness probe fails")
        try FileManager.default.removeItem(atPath: data + "/alive")
        let restarted = try await fixture.waitFor(pod.uid, "restarted by liveness") {
            $0.containers[0].restartCount >= 1
        }
        guard case .terminated(let code, _, "Error", _, _) = restarted.containers[0].lastState else {
            Issue.record("lastState: \(String(describing: restarted.containers[0].lastState))")
            return
        }
        #expect(code == 143, "sleep dies of the SIGTERM")
        await fixture.tearDown()
    }

    @Test func stopSendsSigtermThenSigkillAfterTheGracePeriod() async throws {
        let fixture = try RuntimeFixture()
        let marker = "kubesim-test-\(UUID().uuidString)"
        let data = try fixture.hostFolder("data")
        let pod = RuntimePod(
            uid: "stop-1", namespace: "test", name: "stubborn",
            containers: [
                RuntimeContainer(
                    name: "polite",
                    command: [
                        "sh", "-c", "trap 'echo term > /data/polite; exit 0' TERM; while true; do sleep 0.1; done",
                    ],
                    env: ["MARKER": marker], volumeMounts: [RuntimeVolumeMount(name: "data", mountPath: "/data")]),
                RuntimeContainer(
                    name: "stubborn",
                    command: ["sh", "-c", "trap 'echo term > /data/stubborn' TERM; while true; do sleep 0.1; done"],
                    env: ["MARKER": marker], volumeMounts: [RuntimeVolumeMount(name: "data", mountPath: "/data")]),
            ],
            volumes: [RuntimeVolume(name: "data", source: .hostPath(data))])
        try await fixture.runtime.start(pod)
        try await fixture.waitFor(pod.uid, "Running") { $0.phase == "Running" && $0.containers.allSatisfy(\.started) }
        try await Task.sleep(for: .milliseconds(300))  // let the shells install their traps
        #expect(!processes(containing: marker).isEmpty)
        let began = ContinuousClock.now
        await fixture.runtime.stop(uid: pod.uid, gracePeriodSeconds: 1)
        let took = ContinuousClock.now - began
        #expect(FileManager.default.fileExists(atPath: data + "/polite"))
        #expect(FileManager.default.fileExists(atPath: data + "/stubborn"))
        #expect(took >= .seconds(1), "the stubborn container survives SIGTERM until the grace period ends")
        #expect(processes(containing: marker).isEmpty)
        #expect(fixture.runtime.status(uid: pod.uid) == nil)
        await fixture.tearDown()
    }

    @Test func shutdownLeavesNoProcessBehind() async throws {
        let fixture = try RuntimeFixture()
        let marker = "kubesim-test-\(UUID().uuidString)"
        for index in 0..<2 {
            let pod = RuntimePod(
                uid: "shutdown-\(index)", namespace: "test", name: "busy-\(index)",
                containers: [
                    RuntimeContainer(
                        name: "main", command: ["sh", "-c", "sleep 60 & sleep 60 & wait"], env: ["MARKER": marker])
                ])
            try await fixture.runtime.start(pod)
            try await fixture.waitFor(pod.uid, "Running") { $0.phase == "Running" }
        }
        let exec = try await fixture.runtime.exec(
            uid: "shutdown-0", container: "main", command: ["sleep", "60"], tty: false)
        try await Task.sleep(for: .milliseconds(200))
        #expect(processes(containing: marker).count >= 6)
        await fixture.runtime.shutdown()
        _ = await exec.wait()
        #expect(processes(containing: marker).isEmpty)
        await fixture.tearDown()
    }
}
