import DevLoop
import Foundation
import Glibc
import KubeSim
import Testing

/// Issue 12's faults, through the built `devloop up` against a kubesim the test runs, `FaultRuns.count`
/// times each in one session: each recovers by itself and loses nothing (the edit made during the
/// fault is served, the pod's numbered log lines come once each with no gap). The outage lengths are
/// the issue's (30 s, 60 s); `DEVLOOP_FAULT_SECONDS` shortens both for a quick look.
@Suite(.serialized, .timeLimit(.minutes(FaultRuns.soak ? 60 : 15))) struct FaultTests {
    static let scale: Double =
        ProcessInfo.processInfo.environment["DEVLOOP_FAULT_SECONDS"].flatMap(Double.init)
        .map { $0 / 60 } ?? 1

    /// The API server refuses connections for 30 s: `up` says so once per outage, and after it is back
    /// the watch, the forward, the sync and the logs work again; an edit made during the outage is served.
    @Test func anAPIServerOutageIsReportedOnceAndTheSessionRecovers() async throws {
        let project = try FixtureProject(command: FixtureProject.tickingCommand, stateVolume: true)
        defer { project.remove() }
        try await UpSession.run(project) { cluster, up in
            _ = try await up.readyPod()
            try await up.waitForLine("a log line") { $0.contains("| tick ") }
            let outage = "api-outage \(30 * Self.scale) s"
            var figures = RecoveryTable(outage, ["watch", "serving the edit", "logs"])
            var lost: [String] = []
            for run in 1...FaultRuns.count {
                let mark = up.lineCount
                await cluster.server.takeAPIServerDown()
                try await up.waitForLine("the outage report", timeout: .seconds(20), from: mark) {
                    $0.contains("the cluster does not answer")
                }
                let edit = "hello outage \(run)\n"
                try project.write("app/index.html", edit)
                try await Task.sleep(for: .seconds(30 * Self.scale))
                let backMark = up.lineCount
                try await cluster.server.bringAPIServerUp()
                let back = ContinuousClock.now
                async let watch = up.arrival("the recovery", timeout: .seconds(120), from: backMark) {
                    $0.contains("the cluster answers again")
                }
                async let logs = up.arrival("logs after the outage", timeout: .seconds(120), from: backMark) {
                    $0.contains("| tick ")
                }
                try await waitUntil("the forward serves the edit made during the outage", timeout: .seconds(120)) {
                    await httpGet(port: project.port, path: "/index.html", timeout: 5)?.body == edit
                }
                let serving = ContinuousClock.now - back
                figures.add([try await watch - back, serving, try await logs - back])
                let reports = up.output.split(separator: "\n").dropFirst(mark).filter {
                    $0.contains("the cluster does not answer")
                }
                if reports.count != 1 { lost.append("run \(run): \(reports.count) outage reports") }
            }
            lost += try await Self.lostLines(up, project, after: "the outages")
            print(figures.report(lost: lost))
            #expect(lost.isEmpty, "\(lost); devloop up printed:\n\(up.output)")
        }
    }

    /// The laptop lid: devloop is stopped for 60 s while a `git checkout` writes 20,000 files (more
    /// than inotify queues by default) and an edit lands; after SIGCONT the destination converges, the
    /// edit is served and the logs go on where they stopped.
    @Test func sigstopForAMinuteWithAnEditStormThenSIGCONT() async throws {
        let project = try FixtureProject(command: FixtureProject.tickingCommand, stateVolume: true)
        defer { project.remove() }
        try await UpSession.run(project) { _, up in
            _ = try await up.readyPod()
            try await up.waitForLine("a log line") { $0.contains("| tick ") }
            var figures = RecoveryTable(
                "sigstop \(60 * Self.scale) s + 20000 files", ["serving the edit", "converged", "logs"])
            var lost: [String] = []
            for run in 1...FaultRuns.count {
                up.signal(SIGSTOP)
                let stopped = ContinuousClock.now
                for folder in 0..<20 {
                    let path = project.app + "/checkout/d\(folder)"
                    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                    for file in 0..<1000 {
                        try "\(run) \(folder)/\(file)\n".write(
                            toFile: "\(path)/f\(file)", atomically: false, encoding: .utf8)
                    }
                }
                let edit = "hello sigstop \(run)\n"
                try project.write("app/index.html", edit)
                try await Task.sleep(until: stopped + .seconds(60 * Self.scale))
                let resumeMark = up.lineCount
                up.signal(SIGCONT)
                let resumed = ContinuousClock.now
                // Hang bounds, not measures (1.6-1.8 s on a quiet machine; over 60 s at a load of 22,
                // where the 20,000 files' reconcile shares two cores with five other builds).
                async let logs = up.arrival("logs after SIGCONT", timeout: .seconds(180), from: resumeMark) {
                    $0.contains("| tick ")
                }
                try await waitUntil("the edit is served", timeout: .seconds(180)) {
                    await httpGet(port: project.port, path: "/index.html", timeout: 5)?.body == edit
                }
                let serving = ContinuousClock.now - resumed
                var verify: (status: Int32?, output: String) = (nil, "")
                try await waitUntil("the destination converges", timeout: .seconds(180)) {
                    verify = try await DevLoopProcess.run(
                        ["sync", "--verify", "--config", project.config], directory: project.root)
                    return verify.status == 0
                }
                figures.add([serving, ContinuousClock.now - resumed, try await logs - resumed])
                let copy = try? String(contentsOfFile: project.hostPath + "/checkout/d19/f999", encoding: .utf8)
                if copy != "\(run) 19/999\n" { lost.append("run \(run): checkout/d19/f999 holds \(copy ?? "nothing")") }
            }
            lost += try await Self.lostLines(up, project, after: "the stops")
            print(figures.report(lost: lost))
            #expect(lost.isEmpty, "\(lost); devloop up printed:\n\(up.output)")
        }
    }

    /// The log lines missing or repeated in what `up` printed, once it has shown the line the container
    /// wrote last (a follower lagging behind would pass the order check); with the lines checked printed,
    /// so that a check of nothing shows.
    static func lostLines(_ up: DevLoopProcess, _ project: FixtureProject, after what: String) async throws
        -> [String]
    {
        let written = try TickLog.lastWritten(project)
        try await up.waitForLine("the last line the container wrote", timeout: .seconds(60)) {
            $0.hasSuffix("| tick \(written.boot) \(written.last)")
        }
        let ticks = TickLog(up.output)
        let boots = ticks.boots.map { "\($0.boot) \($0.numbers.first ?? 0)...\($0.numbers.last ?? 0)" }
        print("\(ticks.count) log lines checked (boot first...last: \(boots.joined(separator: ", "))) after \(what)")
        return ticks.problems + (ticks.count == 0 ? ["no log line at all"] : [])
    }
}
