import DevLoop
import Foundation
import KubeSim
import LockedValue
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The client against kubesim (the API server and kubelet the tests start), the acceptance list of issue 4.
@Suite struct KubeSimClientTests {
    static let app = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: shop
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: shop
        spec:
          replicas: 1
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: app
                image: devloop/test
                command: ["sleep", "3600"]
        """

    @Test func applyTwiceCreatesThenLeavesUnchanged() async throws {
        try await KubeSimFixture.run { sim in
            // The Deployment comes first in the file on purpose: the Namespace must still be applied first.
            let reordered = Self.app.components(separatedBy: "---\n").reversed().joined(separator: "\n---\n")
            let first = try await sim.apply(reordered)
            #expect(first.map(\.description) == ["namespace/shop created", "deployment/web created"])
            let second = try await sim.apply(reordered)
            #expect(second.map(\.description) == ["namespace/shop unchanged", "deployment/web unchanged"])
            let changed = try await sim.apply(Self.app.replacingOccurrences(of: "replicas: 1", with: "replicas: 2"))
            #expect(changed.map(\.outcome) == [.unchanged, .configured])
        }
    }

    @Test func watchSeesReadyAndSurvivesCutsRestartsAndExpiry() async throws {
        try await KubeSimFixture.run(Self.watchScenario)
    }

    static func watchScenario(_ sim: KubeSimFixture) async throws {
        try await sim.apply(app)
        var watcher = ResourceWatcher(client: sim.client, path: "/api/v1/namespaces/shop/pods")
        watcher.retryDelay = .milliseconds(100)
        let recorder = WatchRecorder(watcher.events())
        let first = try await recorder.nextReadyPod(excluding: [])

        sim.server.cutStreams()
        try await sim.server.deletePod(namespace: "shop", name: first, gracePeriodSeconds: 0)
        let second = try await recorder.nextReadyPod(excluding: [first])

        try await sim.server.restartAPIServer()
        try await sim.server.deletePod(namespace: "shop", name: second, gracePeriodSeconds: 0)
        let third = try await recorder.nextReadyPod(excluding: [first, second])
        let addedBefore = recorder.added[third, default: 0]

        // An expired watch makes the client relist: the relist reports the live pod as ADDED again.
        await sim.server.expireWatches()
        try await recorder.nextAdded(third)
        #expect(recorder.added[third, default: 0] == addedBefore + 1)
    }

    @Test func logsFollowAcrossRestartsWithoutDuplicatesOrGaps() async throws {
        try await KubeSimFixture.run { sim in
            // Each instance prints 15 numbered lines then exits; the count survives restarts in an emptyDir.
            // Lines come slowly enough that a cut noticed late still finds the cut instance as `previous`
            // (the API keeps only one previous instance).
            // The first instance prints line 0, then waits for a go file that the test writes once it has
            // line 0: the follower is connected before line 1, however slow the machine.
            let control = sim.directory.appendingPathComponent("control")
            try FileManager.default.createDirectory(at: control, withIntermediateDirectories: true)
            let script = """
                n=$(cat /state/n 2>/dev/null || echo 0); end=$((n + 15))
                if [ $n -eq 0 ]; then echo "line 0"; while [ ! -f /control/go ]; do sleep 0.05; done; fi
                while [ $n -lt $end ]; do n=$((n + 1)); echo "line $n"; echo $n > /state/n; sleep 0.35; done
                exit 1
                """
            try await sim.apply(
                KubeSimFixture.podManifest(
                    namespace: "logs", name: "counter", command: script,
                    volumes:
                        "  volumes:\n  - name: state\n    emptyDir: {}\n  - name: control\n    hostPath: {path: \(control.path)}",
                    mounts:
                        "    volumeMounts:\n    - name: state\n      mountPath: /state\n    - name: control\n      mountPath: /control"
                ))
            try await sim.waitForRunningPod("logs", "counter")
            var follower = LogFollower(client: sim.client, namespace: "logs", pod: "counter", container: "app")
            follower.retryDelay = .milliseconds(100)
            var lines: [String] = []
            for try await line in follower.lines() {
                lines.append(line.text)
                if line.text == "line 0" { try Data().write(to: control.appendingPathComponent("go")) }
                if lines.count == 8 { sim.server.cutStreams() }
                if lines.count == 41 { break }
            }
            #expect(lines == (0...40).map { "line \($0)" })
            let pod = try await sim.client.get("/api/v1/namespaces/logs/pods/counter")
            #expect((pod[path: "status", "containerStatuses"]?.array?.first?["restartCount"]?.int ?? 0) >= 2)
        }
    }

    @Test(arguments: [[StreamProtocol.v5], [StreamProtocol.v4], [StreamProtocol.v5, .v4]])
    func execRoundTripsTenMegabytesAndReportsExitCodes(protocols: [StreamProtocol]) async throws {
        try await KubeSimFixture.run { sim in
            try await sim.apply(KubeSimFixture.podManifest(namespace: "exec", name: "shell", command: "sleep 3600"))
            try await sim.waitForRunningPod("exec", "shell")
            let exec = PodExec(client: sim.client)
            let input = TestData.pattern(megabytes: 10)
            let echoed = try await exec.run(
                ExecRequest(namespace: "exec", pod: "shell", command: ["cat"], stdin: input, protocols: protocols))
            #expect(echoed.exitCode == 0)
            #expect(echoed.stdout.count == input.count)
            #expect(echoed.stdout == input)
            let failed = try await exec.run(
                ExecRequest(
                    namespace: "exec", pod: "shell", command: ["sh", "-c", "wc -c; echo bad >&2; exit 3"],
                    stdin: Data("four".utf8), protocols: protocols))
            #expect(failed.exitCode == 3)
            #expect(
                String(decoding: failed.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "4")
            #expect(String(decoding: failed.stderr, as: UTF8.self) == "bad\n")
        }
    }

    @Test func portForwardCarriesConcurrentRequestsAndAHundredMegabytes() async throws {
        try await KubeSimFixture.run { sim in
            let site = sim.directory.appendingPathComponent("site")
            try FileManager.default.createDirectory(
                at: site.appendingPathComponent("n"), withIntermediateDirectories: true)
            for index in 0..<100 { try Data("page \(index)".utf8).write(to: site.appendingPathComponent("n/\(index)")) }
            let big = TestData.pattern(megabytes: 100)
            try big.write(to: site.appendingPathComponent("big"))
            try await sim.runSitePod(namespace: "fwd", serving: site)
            let errors = Locked<[String]>([])
            let forwarder = try PortForwarder(client: sim.client, namespace: "fwd", pod: "site", remotePort: 8080) {
                error in errors.withLock { $0.append("\(error)") }
            }
            forwarder.start()
            defer { forwarder.stop() }
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpMaximumConnectionsPerHost = 100
            configuration.timeoutIntervalForRequest = 120
            let session = URLSession(configuration: configuration)
            let base = "http://127.0.0.1:\(forwarder.localPort)"
            try await waitUntil("the pod's HTTP server answers", timeout: .seconds(20)) {
                (try? await session.data(from: URL(string: "\(base)/n/0")!)) != nil
            }
            let pages = await withTaskGroup(of: (Int, String).self) { group in
                for index in 0..<100 {
                    group.addTask {
                        do {
                            let (data, _) = try await session.data(from: URL(string: "\(base)/n/\(index)")!)
                            return (index, String(decoding: data, as: UTF8.self))
                        } catch {
                            return (index, "request failed: \(error)")
                        }
                    }
                }
                return await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
            }
            let failed = (0..<100).filter { pages[$0] != "page \($0)" }
            if !failed.isEmpty {
                print("failed pages: \(failed.map { "\($0): \(pages[$0] ?? "-")" }.prefix(5))")
                print("forwarder errors: \(errors.withLock { $0 }.prefix(10))")
            }
            #expect((0..<100).allSatisfy { pages[$0] == "page \($0)" })
            let started = ContinuousClock.now
            let (data, _) = try await session.data(from: URL(string: "\(base)/big")!)
            print("port-forward via kubesim: 100 MB in \(ContinuousClock.now - started)")
            #expect(data.count == big.count)
            #expect(data == big)
        }
    }

    @Test func cancellingTheConsumerAbortsAnOpenWatch() async throws {
        try await KubeSimFixture.run { sim in
            let watcher = ResourceWatcher(client: sim.client, path: "/api/v1/namespaces")
            let consumer = Task {
                var count = 0
                for try await _ in watcher.events() { count += 1 }
                return count
            }
            // The namespaces list gives ADDED events, then the watch idles: cancel it there.
            try await Task.sleep(for: .seconds(1))
            consumer.cancel()
            let ended = Task {
                _ = try? await consumer.value
                return true
            }
            let timeout = Task {
                try await Task.sleep(for: .seconds(20))
                ended.cancel()
            }
            #expect(await ended.value, "a cancelled watch kept running")
            timeout.cancel()
        }
    }

    @Test func doctorPassesAndShowsTheVersion() async throws {
        try await KubeSimFixture.run { sim in
            let report = await Doctor(
                loader: KubeConfigLoader(environment: [:], explicitPath: sim.server.kubeconfigPath)
            ).run()
            #expect(report.exitCode == 0, "\(report.text())")
            #expect(report.serverVersion?.hasPrefix("v1.") == true)
            #expect(report.text().contains("Kubernetes \(report.serverVersion ?? "?")"))
            #expect(report.tlsTrust?.contains("certificate-authority-data") == true)
            #expect(report.auth == "client certificate")
        }
    }
}

/// Reads watch events until one matches, counting ADDED events per object name on the way.
private final class WatchRecorder {
    private var events: AsyncThrowingStream<DevLoop.WatchEvent, Error>.AsyncIterator
    private(set) var added: [String: Int] = [:]

    init(_ stream: AsyncThrowingStream<DevLoop.WatchEvent, Error>) {
        events = stream.makeAsyncIterator()
    }

    /// The name of the next pod reported Ready that is not in `excluding`.
    func nextReadyPod(excluding: Set<String>) async throws -> String {
        while true {
            let (name, event) = try await next()
            if !excluding.contains(name), KubeSimFixture.isReady(event.object) { return name }
        }
    }

    func nextAdded(_ wanted: String) async throws {
        while true {
            let (name, event) = try await next()
            if event.kind == .added, name == wanted { return }
        }
    }

    private func next() async throws -> (String, DevLoop.WatchEvent) {
        guard let event = try await events.next() else {
            Issue.record("the watch ended")
            throw CancellationError()
        }
        let name = event.object[path: "metadata", "name"]?.string ?? ""
        if event.kind == .added { added[name, default: 0] += 1 }
        return (name, event)
    }
}
