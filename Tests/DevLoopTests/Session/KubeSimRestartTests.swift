import Foundation
import Glibc
import Testing

/// Issue 12: every API stream is cut (watch, logs, exec, port-forward) and kubesim is restarted, on the
/// same port with the same state and certificates, under a running `devloop up` whose pod logs numbered
/// lines, whose forward is in use and whose edits go on while kubesim is down. kubesim's pods are its
/// own processes: they end with it, and its kubelet starts the saved pods again (the same pod, a new
/// container), as a node that rebooted. Measured from the API being back, `FaultRuns.count` times: the
/// forward answering, the last edit served, the logs flowing (target: 2 s each). Nothing may be lost:
/// every line the old container wrote and every line of the new one shown once, the last edit served
/// and the destination converged.
@Suite(.serialized, FaultRuns.timeLimit) struct KubeSimRestartTests {
    @Test(arguments: ["hostPath", "exec"]) func devloopResumesAfterKubeSimRestarts(transport: String) async throws {
        let project = try FixtureProject(
            extraConfig: transport == "exec" ? "transport: exec" : "", emptyDir: transport == "exec",
            command: FixtureProject.tickingCommand, stateVolume: true)
        defer { project.remove() }
        try await UpSession.run(project) { cluster, up in
            let pod = try await up.readyPod()
            var figures = RecoveryTable(
                "kubesim restart (\(transport))", ["forward answering", "last edit served", "logs flowing"])
            var written: [(boot: String, last: Int)] = []
            var lost: [String] = []
            for run in 1...FaultRuns.count {
                let before = "before restart \(run)\n"
                try project.write("app/index.html", before)
                try await waitUntil("the edit before the restart is served", timeout: .seconds(60)) {
                    await httpGet(port: project.port, path: "/index.html", timeout: 5)?.body == before
                }
                try await up.waitForLine("a log line before the restart", from: up.lineCount) { $0.contains("| tick ") }
                cluster = try await cluster.restarted {
                    // What the stopped container wrote last, and edits made while nothing answers.
                    written.append(try TickLog.lastWritten(project))
                    for edit in 1...5 {
                        try project.write("app/index.html", "down \(run) \(edit)\n")
                        try project.write("app/down-\(run)-\(edit).txt", "\(edit)\n")
                        try await Task.sleep(for: .milliseconds(300))
                    }
                }
                let backMark = up.lineCount
                let back = ContinuousClock.now
                let oldBoot = written.last!.boot
                async let logs = up.arrival("logs of the restarted container", timeout: .seconds(120), from: backMark) {
                    $0.contains("| tick ") && !$0.contains("| tick \(oldBoot) ")
                }
                try await waitUntil("the forward answers", timeout: .seconds(120)) {
                    await httpGet(port: project.port, path: "/index.html", timeout: 5)?.status == 200
                }
                let forward = ContinuousClock.now - back
                let last = "down \(run) 5\n"
                try await waitUntil("the last edit is served", timeout: .seconds(120)) {
                    await httpGet(port: project.port, path: "/index.html", timeout: 5)?.body == last
                }
                figures.add([forward, ContinuousClock.now - back, try await logs - back])
                var verify: (status: Int32?, output: String) = (nil, "")
                try await waitUntil("the destination converges", timeout: .seconds(120)) {
                    verify = try await DevLoopProcess.run(
                        ["sync", "--verify", "--config", project.config], directory: project.root)
                    return verify.status == 0
                }
                let replaced = up.output.split(separator: "\n").dropFirst(backMark).filter {
                    $0.contains("pod \(pod) replaced by")
                }
                #expect(replaced.isEmpty, "kubesim restarts the same pod: \(replaced)")
            }
            lost += try await FaultTests.lostLines(up, project, after: "the restarts")
            lost += Self.unshown(written, in: TickLog(up.output))
            print(figures.report(lost: lost))
            print("kubesim restart (\(transport)): target 2 s from the API being back")
            #expect(lost.isEmpty, "\(lost); devloop up printed:\n\(up.output)")
        }
    }

    /// The lines each stopped container wrote that `up` never showed.
    static func unshown(_ written: [(boot: String, last: Int)], in ticks: TickLog) -> [String] {
        written.compactMap { entry in
            let shown = ticks.boots.first { $0.boot == entry.boot }?.numbers.last ?? 0
            return shown >= entry.last
                ? nil : "boot \(entry.boot): lines \(shown + 1)...\(entry.last) written before the stop, never shown"
        }
    }
}
