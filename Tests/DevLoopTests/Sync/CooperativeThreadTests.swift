import Foundation
import Glibc
import Testing

@testable import DevLoop

/// Blocking filesystem work stays off Swift's cooperative threads (2 on this machine): while large
/// initial syncs run, a task on those threads (a log stream, a forward's handshake) still runs.
/// It measures the whole process: suites that block those threads themselves, run side by side
/// in the same process, make it fail too (run it in a process of its own until they are fixed).
@Suite struct CooperativeThreadTests {
    /// Two initial syncs of 64 MB (4,000 files each) side by side, one per cooperative thread when
    /// they block, while a heartbeat task sleeps 10 ms at a time and measures how late it wakes.
    @Test(.timeLimit(.minutes(2))) func heartbeatRunsDuringLargeInitialSyncs() async throws {
        let dir = TempDir("devloop-coop")
        defer { dir.remove() }
        var engines: [SyncEngine] = []
        for side in 0..<2 {
            let source = dir.sub("src\(side)")
            let destination = dir.sub("dst\(side)")
            Self.makeTree(source, directories: 40, files: 100, bytes: 16_384)
            engines.append(
                SyncEngine(
                    options: SyncOptions(source: source, destination: destination),
                    transport: HostPathTransport(source: source, destination: destination)))
        }
        let syncing = Heartbeat()
        let beat = Task { await syncing.run() }
        try await Task.sleep(for: .milliseconds(30))
        let started = ContinuousClock.now
        async let first = engines[0].start()
        async let second = engines[1].start()
        let shipped = try await (first.operations.count, second.operations.count)
        let took = started.duration(to: .now)
        beat.cancel()
        let lateness = await beat.value
        for engine in engines { await engine.stop() }
        #expect(shipped.0 == 4_040 && shipped.1 == 4_040, "operations shipped: \(shipped)")
        #expect(
            lateness < .milliseconds(250),
            "a 10 ms sleep woke \(lateness) late while two initial syncs ran (they took \(took))")
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
