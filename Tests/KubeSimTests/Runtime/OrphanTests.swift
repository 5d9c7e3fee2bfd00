import Foundation
import ProcessTestSupport
import Testing

@testable import KubeSim

/// kubesim killed with SIGKILL has no chance to clean up: the kernel must take its pods down. The test
/// runs a second copy of this test binary (the helper below) as "kubesim", and kills it.
@Suite("No pod process outlives kubesim")
struct OrphanTests {
    static let helperVariable = "KUBESIM_ORPHAN_HELPER_READY_FILE"

    @Test func noPodProcessOutlivesAKilledKubesim() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kubesim-orphans-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let ready = folder.appendingPathComponent("ready").path
        let marker = "kubesim-orphan-\(UUID().uuidString)"
        let helper = Process()
        helper.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        helper.arguments = ["--testing-library", "swift-testing", "--filter", "OrphanHelper"]
        helper.environment = ProcessInfo.processInfo.environment.merging([
            Self.helperVariable: ready, "KUBESIM_ORPHAN_MARKER": marker,
        ]) { _, new in new }
        helper.standardOutput = FileHandle.nullDevice
        helper.standardError = FileHandle.nullDevice
        let exit = helper.exitStatus()
        try helper.run()
        for _ in 0..<600 where !FileManager.default.fileExists(atPath: ready) && helper.isRunning {
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(FileManager.default.fileExists(atPath: ready), "the helper never started its pod")
        let before = processes(containing: marker)
        #expect(before.count >= 4, "pod and exec processes: \(before)")

        kill(helper.processIdentifier, SIGKILL)
        #expect(await exit.wait(timeout: .seconds(30)) == 128 + SIGKILL)
        for _ in 0..<100 where !processes(containing: marker).isEmpty {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(processes(containing: marker).isEmpty, "survivors: \(processes(containing: marker))")
        // The killed helper could not remove its folder; it wrote its path into the ready file.
        if let helperFolder = try? String(contentsOfFile: ready, encoding: .utf8), helperFolder.hasPrefix("/tmp/") {
            try? FileManager.default.removeItem(atPath: helperFolder)
        }
    }
}

/// Runs only inside `noPodProcessOutlivesAKilledKubesim`, as the process it kills.
@Suite("OrphanHelper", .enabled(if: ProcessInfo.processInfo.environment[OrphanTests.helperVariable] != nil))
struct OrphanHelper {
    @Test func holdsAPodUntilKilled() async throws {
        let environment = ProcessInfo.processInfo.environment
        let ready = try #require(environment[OrphanTests.helperVariable])
        let marker = try #require(environment["KUBESIM_ORPHAN_MARKER"])
        let fixture = try RuntimeFixture()
        let pod = RuntimePod(
            uid: "orphan-1", namespace: "test", name: "orphan",
            containers: [
                RuntimeContainer(name: "main", command: ["sh", "-c", "sleep 300 & sleep 300"], env: ["MARKER": marker])
            ])
        try await fixture.runtime.start(pod)
        try await fixture.waitFor(pod.uid, "Running") { $0.phase == "Running" }
        _ = try await fixture.runtime.exec(uid: pod.uid, container: "main", command: ["sleep", "300"], tty: false)
        try await Task.sleep(for: .milliseconds(200))
        try fixture.folder.path.write(toFile: ready, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .seconds(120))
        await fixture.tearDown()
    }
}
