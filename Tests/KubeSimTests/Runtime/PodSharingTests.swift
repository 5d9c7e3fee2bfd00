import Foundation
import Testing

@testable import KubeSim

@Suite("BubblewrapPodRuntime: what a pod's containers share")
struct PodSharingTests {
    @Test func containersShareLoopbackAndEmptyDirAndStatusesAreStreamed() async throws {
        let fixture = try RuntimeFixture()
        let fetch =
            "import urllib.request,time\n"
            + "for _ in range(100):\n"
            + "    try: print(urllib.request.urlopen('http://127.0.0.1:5000/note').read().decode(), end='', flush=True); break\n"
            + "    except Exception: time.sleep(0.1)\n"
        let pod = RuntimePod(
            uid: "sharing-1", namespace: "test", name: "pair",
            containers: [
                RuntimeContainer(
                    name: "server",
                    command: ["sh", "-c", "echo shared-note > /shared/note; exec python3 -m http.server 5000"],
                    workingDir: "/shared", volumeMounts: [RuntimeVolumeMount(name: "scratch", mountPath: "/shared")],
                    readinessProbe: RuntimeProbe(action: .tcpSocket(port: 5000), periodSeconds: 0.2)),
                RuntimeContainer(name: "client", command: ["python3", "-c", fetch]),
            ],
            volumes: [RuntimeVolume(name: "scratch", source: .emptyDir)], restartPolicy: "Never")
        let updates = Task {
            var seen: [RuntimePodStatus] = []
            for await (uid, status) in fixture.runtime.statusUpdates where uid == pod.uid {
                seen.append(status)
                if case .terminated = status.containers[1].state { break }
            }
            return seen
        }
        try await fixture.runtime.start(pod)
        try await fixture.waitFor(pod.uid, "client done") {
            if case .terminated = $0.containers[1].state { true } else { false }
        }
        let lines = await collect(
            try fixture.runtime.logLines(uid: pod.uid, container: "client", previous: false, follow: false))
        #expect(
            lines.map(\.text) == ["shared-note"], "the client reached the server's 127.0.0.1:5000 and its emptyDir file"
        )
        let seen = await updates.value
        #expect(seen.first?.phase == "Pending")
        #expect(seen.contains { $0.phase == "Running" })
        #expect(seen.last?.containers[1].state.isCompleted == true)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 != $1 }, "only changes are published")
        await fixture.tearDown()
    }

    @Test func aDevPodRunsSwiftFromItsSourceFolder() async throws {
        let fixture = try RuntimeFixture()
        let source = try fixture.hostFolder("src", files: ["hello.swift": "print(\"hello from \\(1 + 1) pods\")\n"])
        let pod = RuntimePod(
            uid: "swift-1", namespace: "test", name: "dev",
            containers: [
                RuntimeContainer(
                    name: "dev", command: ["swift", "hello.swift"], workingDir: "/src",
                    volumeMounts: [RuntimeVolumeMount(name: "src", mountPath: "/src")])
            ],
            volumes: [RuntimeVolume(name: "src", source: .hostPath(source))], restartPolicy: "Never")
        try await fixture.runtime.start(pod)
        let status = try await fixture.waitFor(pod.uid, timeout: .seconds(60), "finished") {
            $0.phase != "Pending" && $0.phase != "Running"
        }
        let lines = await collect(
            try fixture.runtime.logLines(uid: pod.uid, container: "dev", previous: false, follow: false))
        #expect(status.phase == "Succeeded", "log: \(lines.map(\.text))")
        #expect(lines.map(\.text).contains("hello from 2 pods"))
        await fixture.tearDown()
    }
}

@Suite("BubblewrapPodRuntime: starting containers")
struct ContainerStartTests {
    @Test func aMissingProgramIsAStartErrorAndMissingWorkingDirectoriesAreCreated() async throws {
        let fixture = try RuntimeFixture()
        let data = try fixture.hostFolder("data")
        let pod = RuntimePod(
            uid: "start-1", namespace: "test", name: "starter",
            containers: [
                RuntimeContainer(name: "missing", command: ["no-such-program"]),
                RuntimeContainer(
                    name: "in-volume", command: ["pwd"], workingDir: "/data/new/dir",
                    volumeMounts: [RuntimeVolumeMount(name: "data", mountPath: "/data")]),
                RuntimeContainer(name: "in-root", command: ["pwd"], workingDir: "/app/sub"),
            ],
            volumes: [RuntimeVolume(name: "data", source: .hostPath(data))], restartPolicy: "Never")
        try await fixture.runtime.start(pod)
        let status = try await fixture.waitFor(pod.uid, "Failed") { $0.phase == "Failed" }
        guard case .terminated(128, _, "StartError", _, _) = status.containers[0].state else {
            Issue.record("not a StartError: \(status.containers[0])")
            return
        }
        let reason = await collect(
            try fixture.runtime.logLines(uid: pod.uid, container: "missing", previous: false, follow: false))
        #expect(reason.first?.text.contains("no-such-program") == true)
        #expect(status.containers[1].state.isCompleted && status.containers[2].state.isCompleted)
        let inVolume = await collect(
            try fixture.runtime.logLines(uid: pod.uid, container: "in-volume", previous: false, follow: false))
        let inRoot = await collect(
            try fixture.runtime.logLines(uid: pod.uid, container: "in-root", previous: false, follow: false))
        #expect(inVolume.map(\.text) == ["/data/new/dir"] && inRoot.map(\.text) == ["/app/sub"])
        #expect(FileManager.default.fileExists(atPath: data + "/new/dir"))
        await fixture.tearDown()
    }
}

@Suite("BubblewrapPodRuntime: init containers")
struct InitContainerTests {
    static let scratch = [RuntimeVolumeMount(name: "scratch", mountPath: "/work")]

    @Test func initContainersRunInOrderBeforeTheContainers() async throws {
        let fixture = try RuntimeFixture()
        let pod = RuntimePod(
            uid: "init-1", namespace: "test", name: "prepared",
            containers: [
                RuntimeContainer(
                    name: "main", command: ["sh", "-c", "cat /work/steps; sleep 30"], volumeMounts: Self.scratch)
            ],
            initContainers: [
                RuntimeContainer(
                    name: "first", command: ["sh", "-c", "echo first >> /work/steps"], volumeMounts: Self.scratch),
                RuntimeContainer(
                    name: "second", command: ["sh", "-c", "echo second >> /work/steps"], volumeMounts: Self.scratch),
            ],
            volumes: [RuntimeVolume(name: "scratch", source: .emptyDir)])
        let updates = Task {
            var phases: [String] = []
            for await (uid, status) in fixture.runtime.statusUpdates where uid == pod.uid {
                phases.append(status.phase)
                if status.phase == "Running" { break }
            }
            return phases
        }
        try await fixture.runtime.start(pod)
        let status = try await fixture.waitFor(pod.uid, "Running") { $0.phase == "Running" }
        #expect(status.initialized)
        #expect(status.initContainers.map(\.name) == ["first", "second"])
        #expect(status.initContainers.allSatisfy { $0.state.isCompleted })
        let phases = await updates.value
        #expect(phases.first == "Pending" && phases.last == "Running")
        let lines = try await eventuallyLines(fixture, pod.uid, "main", count: 2)
        #expect(lines == ["first", "second"])
        let initLog = await collect(
            try fixture.runtime.logLines(uid: pod.uid, container: "first", previous: false, follow: false))
        #expect(initLog.isEmpty)
        await fixture.tearDown()
    }

    @Test func aFailedInitContainerFailsAPodThatNeverRestarts() async throws {
        let fixture = try RuntimeFixture()
        let pod = RuntimePod(
            uid: "init-2", namespace: "test", name: "unprepared",
            containers: [RuntimeContainer(name: "main", command: ["sleep", "30"])],
            initContainers: [RuntimeContainer(name: "broken", command: ["sh", "-c", "echo nope >&2; exit 7"])],
            restartPolicy: "Never")
        try await fixture.runtime.start(pod)
        let status = try await fixture.waitFor(pod.uid, "Failed") { $0.phase == "Failed" }
        guard case .terminated(7, _, "Error", _, _) = status.initContainers[0].state else {
            Issue.record("init container: \(status.initContainers[0])")
            return
        }
        #expect(status.containers[0].state == .waiting(reason: "PodInitializing", message: nil))
        #expect(!status.initialized && !status.ready)
        await fixture.tearDown()
    }
}

/// The first `count` lines a container wrote, waiting for them.
func eventuallyLines(_ fixture: RuntimeFixture, _ uid: String, _ container: String, count: Int) async throws -> [String]
{
    for _ in 0..<200 {
        if let stream = try? fixture.runtime.logLines(uid: uid, container: container, previous: false, follow: false) {
            let lines = await collect(stream).map(\.text)
            if lines.count >= count { return lines }
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("\(container) did not write \(count) lines")
    throw FixtureError.timedOut("log lines")
}

@Suite("BubblewrapPodRuntime: exec on a terminal")
struct TerminalExecTests {
    @Test func ttyExecRunsOnAResizableTerminal() async throws {
        let fixture = try RuntimeFixture()
        let pod = RuntimePod(
            uid: "tty-1", namespace: "test", name: "terminal",
            containers: [RuntimeContainer(name: "main", command: ["sleep", "30"])])
        try await fixture.runtime.start(pod)
        try await fixture.waitFor(pod.uid, "Running") { $0.phase == "Running" }
        let shell = try await fixture.runtime.exec(
            uid: pod.uid, container: "main",
            command: [
                "sh", "-c", "test -t 0 && echo on-a-tty; read line; echo \"got $line\"; stty size; echo $TERM; exit 4",
            ],
            tty: true)
        shell.resize(columns: 132, rows: 43)
        try shell.stdin.write(contentsOf: Data("typed\n".utf8))
        let stdout = shell.stdout
        let stderr = shell.stderr
        let output = await onDedicatedThread("test-read") {
            String(decoding: stdout.readDataToEndOfFile(), as: UTF8.self)
        }
        let errors = await onDedicatedThread("test-read") { stderr.readDataToEndOfFile() }
        #expect(await shell.wait() == 4)
        // The terminal echoes the input (whenever it arrives) and ends lines with CR LF.
        let lines = output.components(separatedBy: "\r\n")
        #expect(
            lines.filter { $0 != "typed" } == ["on-a-tty", "got typed", "43 132", "xterm", ""],
            "\(output.debugDescription)")
        #expect(lines.contains("typed"))
        #expect(errors.isEmpty)
        await fixture.tearDown()
    }
}

extension RuntimeContainerStatus.State {
    var isCompleted: Bool {
        if case .terminated(0, _, "Completed", _, _) = self { true } else { false }
    }
}
