import Foundation
import Logging
import Testing

@testable import DevLoop

/// The property the sync engine exists for: whatever happens to the local tree, once it settles the
/// destination equals it byte for byte (modes included), minus ignored paths.
@Suite struct ConvergenceTests {
    static var soak: Bool { ProcessInfo.processInfo.environment["DEVLOOP_SOAK"] == "1" }

    @Test func hostPathConverges() async throws {
        let runs = Self.soak ? 2_000 : Int(ProcessInfo.processInfo.environment["DEVLOOP_SYNC_RUNS"] ?? "200")!
        let operations = Self.soak ? 2_000 : 500
        let first = UInt64(ProcessInfo.processInfo.environment["DEVLOOP_SYNC_SEED"] ?? "1")!
        for seed in first..<(first + UInt64(runs)) {
            try await Self.converge(seed: seed, operations: operations) { source, destination in
                HostPathTransport(source: source, destination: destination)
            }
        }
    }

    @Test func execTarConvergesWithGNUTools() async throws {
        let runs = Self.soak ? 200 : 12
        for seed in 1...UInt64(runs) {
            try await Self.converge(seed: 1_000 + seed, operations: 300) { source, destination in
                ExecTarTransport(source: source, destination: destination, executor: LocalProcessExecutor())
            }
        }
    }

    /// The fallback for executors that cannot keep an exec open: one exec per batch.
    @Test func execTarConvergesWithAnExecPerBatch() async throws {
        for seed in 1...UInt64(4) {
            try await Self.converge(seed: 4_000 + seed, operations: 300) { source, destination in
                ExecTarTransport(
                    source: source, destination: destination, executor: ExecPerBatch(inner: LocalProcessExecutor()))
            }
        }
    }

    @Test func execTarConvergesWithBusybox() async throws {
        let tools = TempDir("devloop-busybox")
        defer { tools.remove() }
        let executor = try #require(
            LocalProcessExecutor.busybox(in: tools), "busybox is not installed (apt-get install busybox)")
        let runs = Self.soak ? 200 : 8
        for seed in 1...UInt64(runs) {
            try await Self.converge(seed: 2_000 + seed, operations: 300) { source, destination in
                ExecTarTransport(source: source, destination: destination, executor: executor)
            }
        }
    }

    /// One seeded run: random operations with the engine running, settling now and then, then a
    /// byte-for-byte comparison. A failure names the seed, the last operations and the diff.
    static func converge(
        seed: UInt64, operations: Int, destinationDirectory: String? = nil,
        transport: (String, String) -> any SyncTransport
    ) async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = destinationDirectory ?? dir.sub("dst")
        TreeOperations.prepare(root: source)
        var logger = Logger(label: "devloop.sync.test")
        logger.logLevel = .error
        let engine = SyncEngine(
            options: SyncOptions(source: source, destination: destination),
            transport: transport(source, destination), logger: logger)
        try await engine.start()
        var ops = TreeOperations(root: source, outside: dir.sub("outside"), seed: seed)
        var checked = false
        for index in 0..<operations {
            ops.step()
            // Sometimes check in the middle too, so later operations start from a shipped state.
            if index % 97 == 96 {
                await engine.settle()
                if ProcessInfo.processInfo.environment["DEVLOOP_TRACE_SYNC"] != nil,
                    let watcher = await engine.watcherForTesting
                {
                    let watched = watcher.watchedSnapshot
                    let local = Set(TreeWalker.directories(root: source, rules: IgnoreRules(root: source)))
                    print(
                        "unwatched: \(local.subtracting(watched).sorted())\nstale: \(watched.subtracting(local).sorted())"
                    )
                }
                do {
                    checked = try check(source, destination, seed: seed, ops: ops, at: index) || checked
                } catch {
                    try? (await engine.trace).joined(separator: "\n").write(
                        toFile: "/tmp/devloop-sync-trace-\(seed).log", atomically: false, encoding: .utf8)
                    throw error
                }
            }
        }
        await engine.settle()
        if ProcessInfo.processInfo.environment["DEVLOOP_TRACE_SYNC"] != nil,
            let watcher = await engine.watcherForTesting
        {
            let watched = watcher.watchedSnapshot
            let local = Set(TreeWalker.directories(root: source, rules: IgnoreRules(root: source)))
            print("unwatched: \(local.subtracting(watched).sorted())\nstale: \(watched.subtracting(local).sorted())")
        }
        do {
            _ = try check(source, destination, seed: seed, ops: ops, at: operations)
        } catch {
            try? (await engine.trace).joined(separator: "\n").write(
                toFile: "/tmp/devloop-sync-trace-\(seed).log", atomically: false, encoding: .utf8)
            throw error
        }
        let (failures, error) = (await engine.failures, await engine.lastError)
        if failures > 0 {
            try? (await engine.trace).joined(separator: "\n").write(
                toFile: "/tmp/devloop-sync-trace-\(seed).log", atomically: false, encoding: .utf8)
            try? ops.log.joined(separator: "\n").write(
                toFile: "/tmp/devloop-sync-seed-\(seed).log", atomically: false, encoding: .utf8)
        }
        await engine.stop()
        #expect(failures == 0, "seed \(seed): \(failures) batches failed, last: \(error ?? "")")
    }

    private static func check(_ source: String, _ destination: String, seed: UInt64, ops: TreeOperations, at index: Int)
        throws -> Bool
    {
        let expected = TreeSnapshot(source, expected: true)
        let actual = TreeSnapshot(destination)
        guard expected == actual else {
            let history = ops.log.suffix(60).joined(separator: "\n  ")
            let logFile = "/tmp/devloop-sync-seed-\(seed).log"
            try? ops.log.joined(separator: "\n").write(toFile: logFile, atomically: false, encoding: .utf8)
            Issue.record(
                "seed \(seed) diverged after \(index) operations (all of them: \(logFile))\ndiff:\n\(expected.diff(against: actual))\nlast operations:\n  \(history)"
            )
            throw ConvergenceFailure()
        }
        return true
    }

    struct ConvergenceFailure: Error {}
}
