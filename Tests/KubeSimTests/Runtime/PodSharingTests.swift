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

extension RuntimeContainerStatus.State {
    var isCompleted: Bool {
        if case .terminated(0, _, "Completed", _, _) = self { true } else { false }
    }
}
