import Foundation
import Glibc
import KubeSim
import Testing

/// Issue 12: the server process crashes in a loop, then an edit fixes it. The container exits 3 at
/// start while `app/crash` exists; kubesim's kubelet restarts it with back-off (CrashLoopBackOff).
/// The same `devloop up` must go on through every loop: the forward serves again without a restart
/// of devloop, the logs show each crash, and the status line and `devloop status` say what happened.
@Suite(.serialized, FaultRuns.timeLimit) struct CrashLoopTests {
    static let crashes = 4
    static let command = KubeSimFixture.jsonString(
        """
        if [ -f /app/crash ]; then echo "crashing on purpose: $(cat /app/crash)"; exit 3; fi
        exec busybox httpd -f -p 5000 -h /app
        """)

    @Test func aCrashLoopIsReportedAndTheSessionServesAgainAfterTheFix() async throws {
        let project = try FixtureProject(command: #"["sh", "-c", \#(Self.command)]"#)
        defer { project.remove() }
        try await UpSession.run(project) { cluster, up in
            let pod = try await up.readyPod()
            var figures = RecoveryFigures("crash loop (\(Self.crashes) crashes, then the fix edit)")
            for run in 1...FaultRuns.count {
                let mark = up.lineCount
                try project.write("app/crash", "run \(run)\n")
                try await up.waitForLine("the crash file synced", from: mark) { $0.hasPrefix("crash: synced in") }
                try await cluster.server.killContainer(namespace: project.namespace, pod: pod, container: "app")
                let loop = try await up.waitForLine("the \(Self.crashes)th crash", timeout: .seconds(120), from: mark) {
                    $0.contains("crashed (exit 3") && $0.contains(": \(Self.crashes)th time in")
                }
                print("crash loop run \(run): \(loop)")
                #expect(loop.contains("container app of pod \(pod) crashed (exit 3, Error), restarting"), "\(loop)")
                let status = try await DevLoopProcess.run(
                    ["status", "--json", "--config", project.config], directory: project.root)
                #expect(status.output.contains(#""exitCode" : 3"#), "\(status.output)")
                #expect(status.output.contains("waiting for container app"), "\(status.output)")

                let fixMark = up.lineCount
                try FileManager.default.removeItem(atPath: project.app + "/crash")
                let fixed = ContinuousClock.now
                try await waitUntil("the forward serves after the fix", timeout: .seconds(60)) {
                    await httpGet(port: project.port, path: "/index.html", timeout: 5)?.body == "hello v1\n"
                }
                figures.add(.now - fixed)
                try await up.waitForLine("the recovery line", from: fixMark) {
                    $0.hasPrefix("pod \(pod) serves again after ")
                }
                // Each crash of this run: its status line and the container's own last words.
                let lines = up.output.split(separator: "\n").dropFirst(mark)
                let crashLines = lines.filter { $0.contains("of pod \(pod) crashed (exit 3") }
                let logLines = lines.filter { $0.hasSuffix("| crashing on purpose: run \(run)") }
                print(
                    "crash loop run \(run): \(crashLines.count) crash lines, \(logLines.count) crash log lines, "
                        + "serving \(RecoveryFigures.seconds(figures.samples.last!)) after the fix")
                #expect(crashLines.count >= Self.crashes, "\(lines.joined(separator: "\n"))")
                #expect(logLines.count == crashLines.count, "\(lines.joined(separator: "\n"))")
            }
            let text = try await DevLoopProcess.run(["status", "--config", project.config], directory: project.root)
            #expect(text.output.contains("last crash  container app of pod \(pod) (exit 3, Error)"), "\(text.output)")
            print(figures.report())
        }
    }
}
