import Foundation
import Glibc
import Logging
import Testing

@testable import DevLoop

/// exec+tar's kept-open exec: batch after batch over one `sh`, with GNU tools and with busybox applets
/// (whose `head -c` reads past its count on a pipe: the framing must not depend on it).
@Suite struct ExecTarSessionTests {
    static func executor(_ tool: String, _ dir: TempDir) throws -> LocalProcessExecutor {
        tool == "busybox"
            ? try #require(LocalProcessExecutor.busybox(in: dir), "busybox is not installed (apt-get install busybox)")
            : LocalProcessExecutor()
    }

    /// Sizes around the 512-byte block and the 10 KiB record: a reader that took a byte too many or
    /// too few would garble the next batch's header.
    @Test(arguments: ["gnu", "busybox"]) func manyBatchesShareOneExec(tool: String) async throws {
        let dir = TempDir("devloop-session")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        let executor = CountingExecutor(try Self.executor(tool, dir))
        let transport = ExecTarTransport(source: source, destination: destination, executor: executor)
        let sizes = [0, 1, 511, 512, 9_215, 9_216, 10_240, 10_241, 30_000, 200_000]
        for (round, size) in (sizes + sizes.reversed()).enumerated() {
            let content = String(repeating: Character(UnicodeScalar(UInt8(97 + round % 26))), count: size)
            writeFile(source + "/f\(round).txt", content)
            var operations: [SyncOperation] = [.file("f\(round).txt", mode: 0o644)]
            if round > 0 { operations.append(.rename(from: "f\(round - 1).txt", to: "old\(round - 1).txt")) }
            if round > 1 { operations.append(.delete("old\(round - 2).txt")) }
            try await transport.apply(SyncBatch(operations))
            #expect(FileManager.default.contents(atPath: destination + "/f\(round).txt") == Data(content.utf8))
            if round > 0 { #expect(FileManager.default.fileExists(atPath: destination + "/old\(round - 1).txt")) }
            if round > 1 { #expect(!FileManager.default.fileExists(atPath: destination + "/old\(round - 2).txt")) }
        }
        // A batch of deletes only (no archive) on the same exec.
        try await transport.apply(SyncBatch([.delete("f0.txt")]))
        #expect(!FileManager.default.fileExists(atPath: destination + "/f0.txt"))
        #expect(executor.opens == 1, "execs kept open: \(executor.opens)")
        #expect(executor.runs == 0, "one-shot execs: \(executor.runs)")
        await transport.close()
    }

    /// The exec is killed between batches: the next batch opens a fresh one and lands.
    @Test(arguments: ["gnu", "busybox"]) func aKilledExecIsReopened(tool: String) async throws {
        let dir = TempDir("devloop-session-kill")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        let executor = CountingExecutor(try Self.executor(tool, dir))
        let transport = ExecTarTransport(source: source, destination: destination, executor: executor)
        for round in 0..<3 {
            writeFile(source + "/a.txt", "round \(round)\n")
            try await transport.apply(SyncBatch([.file("a.txt", mode: 0o644)]))
            #expect(FileManager.default.contents(atPath: destination + "/a.txt") == Data("round \(round)\n".utf8))
            let shell = try #require(executor.opened.last as? LocalProcessStream)
            kill(shell.processIdentifier, SIGKILL)
        }
        #expect(executor.opens == 3)
        await transport.close()
    }

    /// tar fails in the middle of a batch (a folder where a file is in the way), with more of the
    /// archive still to come: the error carries tar's own message, and the next batch on the same
    /// exec lands (what tar left unread was drained, so the framing held).
    @Test(arguments: ["gnu", "busybox"]) func aFailingTarReportsAndTheNextBatchWorks(tool: String) async throws {
        let dir = TempDir("devloop-session-fail")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        let executor = CountingExecutor(try Self.executor(tool, dir))
        let transport = ExecTarTransport(source: source, destination: destination, executor: executor)
        writeFile(destination + "/blocker", "a file, not a folder\n")
        try FileManager.default.createDirectory(atPath: source + "/blocker", withIntermediateDirectories: true)
        writeFile(source + "/blocker/inside.txt", "cannot land\n")
        writeFile(source + "/big.txt", String(repeating: "b", count: 300_000))
        let error = await #expect(throws: SyncTransportError.self) {
            try await transport.apply(
                SyncBatch([.file("blocker/inside.txt", mode: 0o644), .file("big.txt", mode: 0o644)]))
        }
        let message = error.map(\.description) ?? ""
        #expect(message.contains("blocker/inside.txt") && message.contains("status 1"), "\(message)")
        writeFile(source + "/next.txt", "the next batch\n")
        try await transport.apply(SyncBatch([.file("next.txt", mode: 0o644)]))
        #expect(FileManager.default.contents(atPath: destination + "/next.txt") == Data("the next batch\n".utf8))
        #expect(executor.opens == 1)
        await transport.close()
    }

    /// The exec's shell is stopped (a frozen pod) with a batch in flight: the engine's stop returns
    /// at once, and a batch without an answer fails at its deadline.
    @Test(.timeLimit(.minutes(2))) func stopIsBoundedAgainstAStoppedExec() async throws {
        let dir = TempDir("devloop-session-stop")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        let executor = CountingExecutor(LocalProcessExecutor())
        let recorder = RecordingTransport(
            ExecTarTransport(source: source, destination: destination, executor: executor, batchDeadline: .seconds(600))
        )
        var logger = Logger(label: "devloop.sync.test")
        logger.logLevel = .critical
        let engine = SyncEngine(
            options: SyncOptions(source: source, destination: destination), transport: recorder, logger: logger)
        writeFile(source + "/a.txt", "first\n")
        try await engine.start()
        let shell = try #require(executor.opened.last as? LocalProcessStream)
        kill(shell.processIdentifier, SIGSTOP)
        defer { kill(shell.processIdentifier, SIGKILL) }
        recorder.reset()
        writeFile(source + "/a.txt", "second\n")
        try await waitUntil("the batch is in flight", timeout: .seconds(60)) { !recorder.operations.isEmpty }
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        await engine.stop()
        let took = started.duration(to: .now)
        #expect(took < .seconds(10), "stop took \(took) against a stopped exec")
        #expect(executor.opens == 1)

        // Without a stop, the batch's own deadline ends it.
        let bounded = ExecTarTransport(
            source: source, destination: dir.sub("dst2"), executor: executor, batchDeadline: .seconds(1))
        try FileManager.default.createDirectory(atPath: dir.sub("dst2"), withIntermediateDirectories: true)
        try await bounded.apply(SyncBatch([.file("a.txt", mode: 0o644)]))
        let frozen = try #require(executor.opened.last as? LocalProcessStream)
        kill(frozen.processIdentifier, SIGSTOP)
        defer { kill(frozen.processIdentifier, SIGKILL) }
        let deadlineStart = ContinuousClock.now
        let error = await #expect(throws: SyncTransportError.self) {
            try await bounded.apply(SyncBatch([.file("a.txt", mode: 0o644)]))
        }
        let waited = deadlineStart.duration(to: .now)
        #expect(waited < .seconds(30), "a batch with a 1 s deadline took \(waited)")
        #expect(error.map(\.description)?.contains("no answer from the exec") == true, "\(String(describing: error))")
    }
}
