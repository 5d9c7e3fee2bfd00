import DevLoop
import Foundation
import Testing

/// Exec against a 1.25-like server (v4 only: stdin can never be closed) and against commands that
/// stop answering: every exec ends, with the command's own status where it has one.
@Suite struct BoundedExecTests {
    @Test(.timeLimit(.minutes(2))) func v4CommandsThatLeaveStdinUnreadReportTheirStatus() async throws {
        try await KubeSimFixture.run { sim in
            try await sim.apply(KubeSimFixture.podManifest(namespace: "exec", name: "shell", command: "sleep 3600"))
            try await sim.waitForRunningPod("exec", "shell")
            let exec = PodExec(client: sim.client)
            let input = TestData.pattern(megabytes: 5)
            // Ignores its stdin entirely, then exits.
            let ignoring = try await exec.run(
                ExecRequest(
                    namespace: "exec", pod: "shell", command: ["sh", "-c", "sleep 0.2; exit 3"], stdin: input,
                    protocols: [.v4], timeout: .seconds(60)))
            #expect(ignoring.exitCode == 3)
            // Stops reading after a few bytes and fails, as tar does on a read-only mount.
            let early = try await exec.run(
                ExecRequest(
                    namespace: "exec", pod: "shell",
                    command: ["sh", "-c", "head -c 10 >/dev/null; echo read-only >&2; exit 4"], stdin: input,
                    protocols: [.v4], timeout: .seconds(60)))
            #expect(early.exitCode == 4)
            #expect(String(decoding: early.stderr, as: UTF8.self) == "read-only\n")
        }
    }

    /// The command freezes itself (SIGSTOP): the exec gives up at its deadline, and a cancelled
    /// exec returns at once.
    @Test(.timeLimit(.minutes(2))) func aFrozenCommandMeetsTheDeadlineAndCancellation() async throws {
        try await KubeSimFixture.run { sim in
            try await sim.apply(KubeSimFixture.podManifest(namespace: "exec", name: "shell", command: "sleep 3600"))
            try await sim.waitForRunningPod("exec", "shell")
            let exec = PodExec(client: sim.client)
            let frozen = ["sh", "-c", "kill -STOP $$; echo thawed"]
            let started = ContinuousClock.now
            let error = await #expect(throws: KubeClientError.self) {
                try await exec.run(
                    ExecRequest(
                        namespace: "exec", pod: "shell", command: frozen, stdin: Data("x".utf8), timeout: .seconds(1)))
            }
            let took = started.duration(to: .now)
            // Generous: suites side by side in one process may hold the cooperative threads a while.
            #expect(took < .seconds(10), "the exec with a 1 s deadline took \(took)")
            #expect("\(error.map { "\($0)" } ?? "")".contains("did not finish within"))
            let task = Task {
                try await exec.run(ExecRequest(namespace: "exec", pod: "shell", command: frozen))
            }
            try await Task.sleep(for: .milliseconds(500))
            let cancelledAt = ContinuousClock.now
            task.cancel()
            _ = await task.result
            let stopping = cancelledAt.duration(to: .now)
            #expect(stopping < .seconds(5), "a cancelled exec took \(stopping) to return")
        }
    }
}

/// Commands that write without end: devloop keeps a bounded amount of each stream, so an endless
/// stdout ends the exec with an error naming the limit, and a flood of stderr keeps its tail and the
/// command's exit status.
@Suite struct BoundedExecOutputTests {
    /// Resident memory of this process, from /proc/self/statm (pages).
    static func residentBytes() throws -> Int {
        let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test(.timeLimit(.minutes(2))) func anEndlessStdoutEndsTheExecAtItsLimit() async throws {
        try await KubeSimFixture.run { sim in
            try await sim.apply(KubeSimFixture.podManifest(namespace: "exec", name: "shell", command: "sleep 3600"))
            try await sim.waitForRunningPod("exec", "shell")
            let before = try Self.residentBytes()
            // Sampled during the exec: large buffers go back to the system once freed.
            let peak = Task {
                var peak = 0
                while !Task.isCancelled {
                    peak = max(peak, (try? Self.residentBytes()) ?? 0)
                    try? await Task.sleep(for: .milliseconds(50))
                }
                return peak
            }
            let started = ContinuousClock.now
            let error = await #expect(throws: KubeClientError.self) {
                try await PodExec(client: sim.client).run(
                    ExecRequest(namespace: "exec", pod: "shell", command: ["yes"], timeout: .seconds(60)))
            }
            let took = started.duration(to: .now)
            peak.cancel()
            let grown = await peak.value - before
            print("endless stdout: ended after \(took), resident memory peaked \(grown >> 20) MB above its start")
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains("wrote more than 32 MiB to stdout"), "\(message)")
            #expect(took < .seconds(30), "the exec of an endless writer took \(took)")
            // Generous: the bound is on what is kept (32 MiB), the rest is kubesim's and the allocator's.
            #expect(grown < 256 << 20, "resident memory peaked \(grown >> 20) MB during the exec")
        }
    }

    @Test(.timeLimit(.minutes(2))) func aFloodOfStderrKeepsItsTailAndTheExitStatus() async throws {
        try await KubeSimFixture.run { sim in
            try await sim.apply(KubeSimFixture.podManifest(namespace: "exec", name: "shell", command: "sleep 3600"))
            try await sim.waitForRunningPod("exec", "shell")
            let flood = 20_000_000
            let result = try await PodExec(client: sim.client).run(
                ExecRequest(
                    namespace: "exec", pod: "shell",
                    command: ["sh", "-c", "yes flood | head -c \(flood) >&2; echo the-reason >&2; exit 7"],
                    timeout: .seconds(60)))
            #expect(result.exitCode == 7)
            #expect(result.stderr.count == ExecRequest.defaultStderrTail)
            #expect(result.stderrDropped == flood + "the-reason\n".utf8.count - ExecRequest.defaultStderrTail)
            #expect(String(decoding: result.stderr, as: UTF8.self).hasSuffix("the-reason\n"))
        }
    }
}

/// `SyncEngine.stop()` cancels the batch in flight instead of waiting for it.
@Suite struct BoundedStopTests {
    /// A transport whose apply never finishes unless cancelled (a frozen pod behind exec+tar).
    struct FrozenTransport: SyncTransport {
        let inner: HostPathTransport
        let entered: AsyncStream<Void>.Continuation
        var name: String { "frozen" }
        func apply(_ batch: SyncBatch) async throws -> [String] {
            guard !batch.isEmpty else { return [] }
            entered.yield()
            try await Task.sleep(for: .seconds(3600))
            return []
        }
        func listDestination() async throws -> [String: DestinationEntry] { try await inner.listDestination() }
        func hashes(of paths: [String]) async throws -> [String: String] { [:] }
    }

    @Test(.timeLimit(.minutes(1))) func stopCancelsABatchThatNeverEnds() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("devloop-stop-\(UUID().uuidString)")
        let source = root.appendingPathComponent("src").path
        let destination = root.appendingPathComponent("dst").path
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let (entered, enteredContinuation) = AsyncStream.makeStream(of: Void.self)
        let transport = FrozenTransport(
            inner: HostPathTransport(source: source, destination: destination), entered: enteredContinuation)
        // An empty tree: the initial batch is empty, so only the next change reaches the frozen apply.
        let engine = SyncEngine(options: SyncOptions(source: source, destination: destination), transport: transport)
        try await engine.start()
        try Data("edit".utf8).write(to: URL(fileURLWithPath: source + "/file.txt"))
        for await _ in entered { break }
        let started = ContinuousClock.now
        await engine.stop()
        let took = started.duration(to: .now)
        #expect(took < .seconds(2), "stop took \(took) with a batch in flight")
    }
}
