import Foundation
import Glibc
import Synchronization
import Testing

@testable import DevLoop

/// Blocking filesystem work stays off Swift's cooperative threads (2 on this machine): while large
/// initial syncs run, a task on those threads (a log stream, a forward's handshake) still runs.
/// It measures the whole process: suites that block those threads themselves, run side by side
/// in the same process, make it fail too (run it in a process of its own until they are fixed).
/// Serialized: each test's syncs would be measured by the other.
@Suite(.serialized) struct CooperativeThreadTests {
    /// Two initial syncs of 64 MB (4,000 files each) side by side, one per cooperative thread when
    /// they block, while a heartbeat task sleeps 10 ms at a time and measures how late it wakes.
    @Test(.timeLimit(.minutes(2))) func heartbeatRunsDuringLargeInitialSyncs() async throws {
        let dir = TempDir("devloop-coop")
        defer { dir.remove() }
        let sources = Self.makeSources(dir)
        let syncing = Heartbeat()
        let beat = Task { await syncing.run() }
        try await Task.sleep(for: .milliseconds(30))
        let started = ContinuousClock.now
        let shipped = try await Self.syncSideBySide(sources, into: dir.sub("dst"))
        let took = started.duration(to: .now)
        beat.cancel()
        let lateness = await beat.value
        #expect(shipped == [4_040, 4_040], "operations shipped: \(shipped)")
        #expect(
            lateness < .milliseconds(250),
            "a 10 ms sleep woke \(lateness) late while two initial syncs ran (they took \(took))")
    }

    /// A port-forward to a pod of a kubesim in this process (as `devloop up --sim` runs it) answers
    /// small requests on fresh connections, one after another, while two initial syncs of 128 MB
    /// run side by side, three times: each connection's dial and attach run on the cooperative
    /// threads. Were the syncs to hold both, a request would wait for one of them to end: the slowest
    /// took 0.87 and 0.96 s with `BlockingWork` running its work inline, 16-53 ms without.
    @Test(.timeLimit(.minutes(3))) func aPortForwardAnswersSmallRequestsDuringLargeInitialSyncs() async throws {
        try await KubeSimFixture.run { sim in
            let forward = try await Self.forwardToASmallSite(sim)
            let port = try await forward.start()
            try await waitUntil("the forward serves /small", timeout: .seconds(60)) {
                await httpGet(port: port, path: "/small")?.body == "small\n"
            }
            let dir = TempDir("devloop-coop")
            defer { dir.remove() }
            let sources = Self.makeSources(dir, filesPerDirectory: 200)
            let requests = RequestLoop(port: port, path: "/small", expected: "small\n")
            let started = ContinuousClock.now
            for round in 0..<3 {
                let destination = dir.sub("dst\(round)")
                let shipped = try await Self.syncSideBySide(sources, into: destination)
                #expect(shipped == [8_040, 8_040], "round \(round): operations shipped: \(shipped)")
                try FileTree.remove(destination)
            }
            let took = started.duration(to: .now)
            let samples = await requests.stop()
            await forward.stop()
            let unanswered = samples.indices.filter { !samples[$0].answered }
            let slowest = samples.map(\.took).max() ?? .zero
            print("forward during 3 x 2 initial syncs (\(took)): \(samples.count) requests, slowest \(slowest)")
            #expect(samples.count >= 5, "only \(samples.count) requests were made in \(took)")
            #expect(unanswered.isEmpty, "requests without the page: \(unanswered) of \(samples.count)")
            #expect(
                slowest < .milliseconds(250),
                "the slowest of \(samples.count) requests took \(slowest) while the syncs ran (\(took))")
        }
    }

    /// Two source trees of 40 directories of `filesPerDirectory` files of 16 KiB each (64 MB for 100).
    static func makeSources(_ dir: TempDir, filesPerDirectory: Int = 100) -> [String] {
        (0..<2).map { side in
            let source = dir.sub("src\(side)")
            makeTree(source, directories: 40, files: filesPerDirectory, bytes: 16_384)
            return source
        }
    }

    /// Initial syncs of `sources` into empty folders below `destination`, side by side; the
    /// operations each shipped.
    static func syncSideBySide(_ sources: [String], into destination: String) async throws -> [Int] {
        let engines = sources.indices.map { side in
            let target = destination + "/\(side)"
            mkdir(target, 0o755)
            return SyncEngine(
                options: SyncOptions(source: sources[side], destination: target),
                transport: HostPathTransport(source: sources[side], destination: target))
        }
        async let first = engines[0].start()
        async let second = engines[1].start()
        let shipped = try await [first.operations.count, second.operations.count]
        for engine in engines { await engine.stop() }
        return shipped
    }

    /// A pod serving a folder with one small page, and a forward to its port 8080.
    static func forwardToASmallSite(_ sim: KubeSimFixture) async throws -> PortForwardSession {
        let site = sim.directory.appendingPathComponent("site")
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
        try Data("small\n".utf8).write(to: site.appendingPathComponent("small"))
        let target = try await sim.runSitePod(namespace: "coop", serving: site)
        return PortForwardSession(
            client: sim.client, target: FixedPodTarget(target),
            spec: ForwardSpec(localPort: 0, remotePort: .number(8080), waitTimeout: .seconds(20)))
    }

    static func makeTree(_ root: String, directories: Int, files: Int, bytes: Int) {
        let content = [UInt8]((0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) })
        for d in 0..<directories {
            mkdir(root + "/d\(d)", 0o755)
            for f in 0..<files {
                let fd = open(root + "/d\(d)/f\(f)", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                _ = content.withUnsafeBytes { write(fd, $0.baseAddress, bytes) }
                close(fd)
            }
        }
    }
}

/// Sleeps 10 ms at a time until cancelled; returns the worst lateness of a wake-up.
private struct Heartbeat {
    func run() async -> Duration {
        var worst = Duration.zero
        let clock = ContinuousClock()
        while !Task.isCancelled {
            let before = clock.now
            try? await Task.sleep(for: .milliseconds(10))
            worst = max(worst, before.duration(to: clock.now) - .milliseconds(10))
        }
        return worst
    }
}

/// Sends one small GET after another on fresh connections from a thread of its own (so the client
/// never waits for the cooperative pool itself) until stopped (at most 2 minutes, should the test
/// end without stopping it), and records each.
private final class RequestLoop: Sendable {
    struct Sample: Sendable {
        let took: Duration
        let answered: Bool
    }

    private let state = Mutex<(samples: [Sample], stopping: Bool)>(([], false))
    private let finished = DispatchSemaphore(value: 0)

    init(port: UInt16, path: String, expected: String) {
        let deadline = ContinuousClock.now + .seconds(120)
        let thread = Thread { [self] in
            while !state.withLock({ $0.stopping }), ContinuousClock.now < deadline {
                let started = ContinuousClock.now
                let answer = blockingGet(port: port, path: path, timeout: 30)
                let sample = Sample(took: started.duration(to: .now), answered: answer?.body == expected)
                state.withLock { $0.samples.append(sample) }
            }
            finished.signal()
        }
        thread.name = "coop-request-loop"
        thread.start()
    }

    /// Stops after the request in flight; every sample.
    func stop() async -> [Sample] {
        state.withLock { $0.stopping = true }
        await BlockingWork.run { [finished] in finished.wait() }
        return state.withLock { $0.samples }
    }
}
