import Foundation

/// save -> new response on the forwarded port through a running `devloop up --sim`, beside the same
/// edit done by hand (`kubectl cp`, a `kubectl exec` restart, the request through `kubectl
/// port-forward`) on a twin pod in the same kubesim, the two interleaved edit by edit.
struct LoopBenchmarks {
    let quick: Bool
    let report: Report

    func run() async throws {
        let work = URL(fileURLWithPath: try BenchTree.temporaryDirectory())
        defer { try? FileManager.default.removeItem(at: work) }
        let fixture = try LoopFixture(work: work)
        let up = try DevLoopUp(config: fixture.config.path, directory: fixture.project.path)
        do {
            try await measure(fixture, up)
        } catch {
            _ = await up.stop()
            throw error
        }
        let status = await up.stop()
        guard status == 0 else { throw BenchError("devloop up exited \(status.map(String.init) ?? "never") on Ctrl-C") }
    }

    private func measure(_ fixture: LoopFixture, _ up: DevLoopUp) async throws {
        let simLine = try await up.waitForLine("the embedded kubesim line") { $0.contains("KUBECONFIG=") }
        let kubeconfig = String(simLine[simLine.range(of: "KUBECONFIG=")!.upperBound...])
            .trimmingCharacters(in: .whitespaces)
        try await up.waitForLine("the forward") { $0.contains("forwarding http://127.0.0.1:\(fixture.port)") }
        _ = try await answer(port: fixture.port, "devloop's first response") { $0.message == "msg-start" }
        let manual = try await ManualLoop.start(fixture: fixture, kubectl: Kubectl(kubeconfig: kubeconfig))
        defer { manual.forward.stop() }
        let edits = quick ? 5 : 20
        var template: [[Double]] = [[], []]
        for i in 0..<edits {
            let marker = "tpl-\(i)"
            up.forget()
            try fixture.write("templates/page.txt", marker + "\n")
            let start = ContinuousClock.now
            _ = try await answer(port: fixture.port, "devloop's template edit \(i)") { $0.page == marker }
            template[0].append(milliseconds(since: start))
            template[1].append(try await manual.edit("templates/page.txt", marker, restart: false))
        }
        report.add(
            Figure("save -> serving: template edit (no restart)", template[0], unit: "ms", baseline: template[1]))
        var restart: [[Double]] = [[], []]
        var share: [Double] = []
        var builds: [Double] = []
        var serverStarts: [Double] = []
        var swaps: [Double] = []
        var buildExecs: [Double] = []
        for i in 0..<edits {
            let marker = "msg-\(i)"
            up.forget()
            try fixture.write("source.txt", marker + "\n")
            let start = ContinuousClock.now
            let served = try await answer(port: fixture.port, "devloop's restart \(i)") { $0.message == marker }
            let total = milliseconds(since: start)
            let line = try await up.waitForLine("the status line of restart \(i)") {
                $0.contains("source.txt: synced in") && $0.contains("rebuilt in")
            }
            guard let build = Self.duration(after: "rebuilt in ", in: line),
                let swap = Self.duration(after: "restarted in ", in: line)
            else { throw BenchError("no build or restart time in devloop's line: \(line)") }
            buildExecs.append(build)
            swaps.append(swap)
            restart[0].append(total)
            builds.append(served.build)
            serverStarts.append(served.startToListen)
            share.append(total - served.build - served.startToListen)
            restart[1].append(try await manual.edit("source.txt", marker, restart: true))
        }
        report.add(
            Figure("save -> serving: fixture server restart", restart[0], unit: "ms", baseline: restart[1]))
        report.add(Figure("loop: restart, devloop's own share (total - build - server start)", share, unit: "ms"))
        report.add(Figure("loop: restart, the fixture's build, its own time", builds, unit: "ms"))
        report.add(Figure("loop: restart, the build exec (devloop's report)", buildExecs, unit: "ms"))
        report.add(Figure("loop: restart, the fixture server's start to listen", serverStarts, unit: "ms"))
        report.add(Figure("loop: restart, the swap (devloop's report: stop, start, ready)", swaps, unit: "ms"))
    }

    /// Polls the forwarded port until the fixture answers what `accept` wants (bounded).
    static func answer(
        port: UInt16, _ what: String, timeout: Duration = .seconds(60),
        accept: @escaping @Sendable (FixtureAnswer) -> Bool
    ) async throws -> FixtureAnswer {
        let deadline = ContinuousClock.now + timeout
        var last = "nothing"
        while ContinuousClock.now < deadline {
            do {
                let body = try await Probe.run { try Probe.get(port: port, path: "/", timeout: 10) }
                if let answer = FixtureAnswer(body), accept(answer) { return answer }
                last = body
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        throw BenchError("\(what): no matching answer on 127.0.0.1:\(port) within \(timeout); last: \(last)")
    }

    private func answer(
        port: UInt16, _ what: String, accept: @escaping @Sendable (FixtureAnswer) -> Bool
    ) async throws -> FixtureAnswer {
        try await Self.answer(port: port, what, accept: accept)
    }

    /// `12 ms` or `1.2 s` after `prefix` in one of devloop's status lines, in ms.
    static func duration(after prefix: String, in line: String) -> Double? {
        guard let range = line.range(of: prefix) else { return nil }
        let words = line[range.upperBound...].split(separator: " ")
        guard words.count >= 2, let value = Double(words[0]) else { return nil }
        return words[1].hasPrefix("ms") ? value : value * 1_000
    }
}

/// The hand-made loop: a twin pod in its own namespace, edits sent with `kubectl cp`, restarts with
/// `kubectl exec ... supervisor.sh restart`, requests through `kubectl port-forward`.
struct ManualLoop {
    let fixture: LoopFixture
    let kubectl: Kubectl
    let pod: String
    let forward: KubectlPortForward
    let port: UInt16
    static let namespace = "bench-manual"

    static func start(fixture: LoopFixture, kubectl: Kubectl) async throws -> ManualLoop {
        try await kubectl.check(["create", "namespace", namespace])
        let manifest = fixture.work.appendingPathComponent("manual.json")
        try Data(LoopFixture.deployment(namespace: namespace, hostPath: fixture.manualHostPath.path).utf8)
            .write(to: manifest)
        try await kubectl.check(["apply", "-f", manifest.path])
        try await kubectl.check(["-n", namespace, "rollout", "status", "deployment/fixture", "--timeout=120s"])
        let pod = try await kubectl.check([
            "-n", namespace, "get", "pods", "-l", "devloop.dev/pod=bench", "-o", "jsonpath={.items[0].metadata.name}",
        ]).trimmingCharacters(in: .whitespacesAndNewlines)
        let forward = try KubectlPortForward(
            kubeconfig: kubectl.kubeconfig, namespace: namespace, target: "pod/\(pod)", remotePort: 5000)
        do {
            let port = try await forward.port()
            _ = try await LoopBenchmarks.answer(port: port, "the hand-made loop's first response") {
                $0.message == "msg-start"
            }
            return ManualLoop(fixture: fixture, kubectl: kubectl, pod: pod, forward: forward, port: port)
        } catch {
            forward.stop()
            throw error
        }
    }

    /// One edit the hand-made way; milliseconds from the save to the new response.
    func edit(_ path: String, _ marker: String, restart: Bool) async throws -> Double {
        let file = fixture.manualSources.appendingPathComponent(path)
        try Data((marker + "\n").utf8).write(to: file)
        let start = ContinuousClock.now
        try await kubectl.check(["cp", file.path, "\(Self.namespace)/\(pod):/app/\(path)", "-c", "app"])
        if restart {
            try await kubectl.check([
                "-n", Self.namespace, "exec", pod, "-c", "app", "--", "sh", "/app/dev/supervisor.sh", "restart",
            ])
        }
        _ = try await LoopBenchmarks.answer(port: port, "the hand-made edit \(marker)") {
            (restart ? $0.message : $0.page) == marker
        }
        return milliseconds(since: start)
    }
}
