import Foundation

/// save of a Swift source of the shipped web app -> the rebuilt server's new answer on the forward,
/// through a running `devloop up --sim` on a copy of the repository: the in-pod Swift build, the
/// restart, and devloop's own share (total minus the build's own time and the server's
/// start-to-listen, both measured in the pod).
struct WebAppLoopBenchmark {
    let samples: Int
    let report: Report

    func run() async throws {
        let work = URL(fileURLWithPath: try BenchTree.temporaryDirectory())
        defer { try? FileManager.default.removeItem(at: work) }
        let project = try WebAppProject(work: work)
        report.note(
            "loop: the shipped web app: devloop up builds it in the pod (build cache \(project.buildCache.path), "
                + (project.cacheIsWarm ? "warm" : "cold: the first build compiles every dependency, 5-20 min") + ")")
        let up = try DevLoopUp(config: project.config.path, directory: project.root.path)
        do {
            try await measure(project, up)
        } catch {
            _ = await up.stop()
            throw error
        }
        let status = await up.stop()
        guard status == 0 else { throw BenchError("devloop up exited \(status.map(String.init) ?? "never") on Ctrl-C") }
    }

    private func measure(_ project: WebAppProject, _ up: DevLoopUp) async throws {
        let simLine = try await up.waitForLine("the embedded kubesim line") { $0.contains("KUBECONFIG=") }
        let kubectl = Kubectl(
            kubeconfig: String(simLine[simLine.range(of: "KUBECONFIG=")!.upperBound...])
                .trimmingCharacters(in: .whitespaces))
        let started = ContinuousClock.now
        try await up.waitForLine("the forward, once the app is built and ready", timeout: .seconds(2_700)) {
            $0.contains("forwarding http://127.0.0.1:\(project.port)")
        }
        report.note("loop: the shipped web app serves after \(ContinuousClock.now - started); editing its Swift")
        _ = try await Self.health(port: project.port, "the first answer") { $0.contains("\"ok\"") }
        let pod = try await kubectl.check([
            "-n", "webapp-dev", "get", "pods", "-l", "devloop.dev/pod=webapp", "-o",
            "jsonpath={.items[0].metadata.name}",
        ]).trimmingCharacters(in: .whitespacesAndNewlines)
        var totals: [Double] = []
        var builds: [Double] = []
        var starts: [Double] = []
        var shares: [Double] = []
        var buildExecs: [Double] = []
        var swaps: [Double] = []
        var previous = #""ok""#
        for i in 0..<samples {
            let marker = "\"bench-\(i)\""
            up.forget()
            let saved = Date()
            try project.edit(
                WebAppProject.healthSource, replacing: "[\"status\": \(previous)]", with: "[\"status\": \(marker)]")
            let start = ContinuousClock.now
            previous = marker
            // The build takes seconds: wait for its end (a local file) before polling the forward at
            // full speed, so that the polling does not take the build's CPU.
            let build = try await Self.buildEnd(project, after: saved)
            _ = try await Self.health(port: project.port, "the rebuilt server's answer \(i)") { $0.contains(marker) }
            let total = milliseconds(since: start)
            let line = try await up.waitForLine("the status line of Swift edit \(i)", timeout: .seconds(120)) {
                $0.contains("HealthRoutes.swift: synced in")
            }
            guard line.contains("rebuilt in") else { throw BenchError("the Swift edit was not rebuilt: \(line)") }
            if let exec = LoopBenchmarks.duration(after: "rebuilt in ", in: line) { buildExecs.append(exec) }
            if let swap = LoopBenchmarks.duration(after: "restarted in ", in: line) { swaps.append(swap) }
            let startToListen = try await Self.startToListen(kubectl: kubectl, pod: pod)
            totals.append(total)
            builds.append(build)
            starts.append(startToListen)
            shares.append(total - build - startToListen)
            report.note(
                String(
                    format: "loop: web app Swift edit %d: %.0f ms (build %.0f ms, server start %.0f ms)", i, total,
                    build, startToListen))
        }
        let prefix = "loop: web app Swift edit, "
        report.add([
            Figure("save -> serving: web app Swift edit (rebuild, restart)", totals, unit: "ms"),
            Figure(prefix + "devloop's own share (total - build - server start)", shares, unit: "ms"),
            Figure(prefix + "the in-pod swift build, its own time", builds, unit: "ms"),
            Figure(prefix + "the server's start to listen", starts, unit: "ms"),
        ])
        if !buildExecs.isEmpty {
            report.add(Figure(prefix + "the build exec (devloop's report)", buildExecs, unit: "ms"))
        }
        if !swaps.isEmpty { report.add(Figure(prefix + "the swap (devloop's report)", swaps, unit: "ms")) }
    }

    /// The own time of the first build that ended after `saved` (bounded: a build takes minutes at most).
    static func buildEnd(_ project: WebAppProject, after saved: Date) async throws -> Double {
        let deadline = ContinuousClock.now + .seconds(900)
        while ContinuousClock.now < deadline {
            if let build = project.lastBuild(), build.written > saved { return build.milliseconds }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchError("no in-pod build ended within 900 s of the edit (\(project.buildTimeFile.path))")
    }

    /// Polls /health on the forward until its body satisfies `accept` (bounded).
    static func health(
        port: UInt16, _ what: String, timeout: Duration = .seconds(120), accept: @escaping @Sendable (String) -> Bool
    ) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var last = "nothing"
        while ContinuousClock.now < deadline {
            do {
                let body = try await Probe.run { try Probe.get(port: port, path: "/health", timeout: 10) }
                if accept(body) { return body }
                last = body
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        throw BenchError("\(what): no matching answer on 127.0.0.1:\(port)/health within \(timeout); last: \(last)")
    }

    /// From the supervisor's "server started" to the server's "WebApp listening" in the pod's log
    /// (the kubelet's timestamps of the two lines), for the last start: ms.
    static func startToListen(kubectl: Kubectl, pod: String) async throws -> Double {
        let log = try await kubectl.check([
            "-n", "webapp-dev", "logs", pod, "-c", "webapp", "--timestamps", "--tail=300",
        ])
        let lines = log.split(separator: "\n")
        guard let started = lines.lastIndex(where: { $0.contains("devloop-supervisor: server started (pid") }),
            let listening = lines[started...].first(where: { $0.contains("WebApp listening on") }),
            let from = LogTime.seconds(lines[started]), let to = LogTime.seconds(listening)
        else {
            throw BenchError(
                "no server start and listen lines in the pod's log:\n\(lines.suffix(20).joined(separator: "\n"))")
        }
        return (to - from) * 1_000
    }
}

/// The RFC 3339 timestamp that starts a `kubectl logs --timestamps` line, as seconds.
enum LogTime {
    static func seconds(_ line: Substring) -> Double? {
        guard let space = line.firstIndex(of: " ") else { return nil }
        let stamp = line[..<space]
        guard stamp.hasSuffix("Z"), let dot = stamp.firstIndex(of: ".") else { return nil }
        let formatter = ISO8601DateFormatter()
        guard let whole = formatter.date(from: String(stamp[..<dot]) + "Z"),
            let fraction = Double("0" + stamp[dot..<stamp.index(before: stamp.endIndex)])
        else { return nil }
        return whole.timeIntervalSince1970 + fraction
    }
}
