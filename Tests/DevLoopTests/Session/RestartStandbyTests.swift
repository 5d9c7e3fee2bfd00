import Foundation
import Glibc
import Testing

@testable import DevLoop

/// The restart exec opened ahead of demand (`StandbyExec`): restarts after the first run on an exec that
/// was already waiting, and a standby that cannot be used — dead, silent, or in a replaced pod — gives
/// way to a fresh exec without losing the restart or running it twice.
@Suite(.timeLimit(.minutes(3))) struct RestartStandbyTests {
    @Test(arguments: InPodRestarterTests.shells) func restartsRunOnTheExecOpenedAhead(shell: [String]) async throws {
        let harness = try InPodRestarterTests.Harness()
        defer { harness.remove() }
        let supervisor = try SupervisorProcess(shell: shell, environment: harness.environment)
        defer { supervisor.forceStop(control: harness.control) }
        try SupervisedApp.write(to: harness.app, message: "zero")
        #expect(await waitForBody(harness.url, "zero", timeout: .seconds(20)) == "zero")

        let executor = CountingExecutor(StreamingShellExecutor(shell: shell, environment: harness.environment))
        let restarter = Self.restarter(executor, harness)
        await restarter.prepare()
        for message in ["one", "two", "three"] {
            try SupervisedApp.setSource(message, in: harness.app)
            let outcome = try await restarter.restart()
            #expect(outcome.built)
            #expect(outcome.buildOutput.contains("compiled source.txt"), "\(outcome.buildOutput)")
            #expect(!outcome.buildOutput.contains("\u{1}go"), "the acknowledgement leaked into the output")
            #expect(await fetchBody(harness.url) == message)
        }
        // Three used, one waiting for the next restart (opened in the background); no one-shot exec.
        #expect(await Self.waitForOpen(executor, count: 4) != nil)
        #expect(executor.runs == 0)
        #expect(executor.opens == 4)
        await restarter.close()
        let waiting = try #require(executor.opened.last as? LocalProcessStream)
        #expect(await Self.ends(waiting), "close() left the exec opened ahead running")
    }

    @Test func aStandbyThatDiedWhileIdleGivesWayToAFreshExec() async throws {
        try await withRestart { harness, executor, restarter in
            let standby = try #require(await Self.waitForOpen(executor))
            kill(standby.processIdentifier, SIGKILL)
            #expect(await Self.ends(standby))
            let outcome = try await restarter.restart()
            #expect(outcome.built)
            #expect(await fetchBody(harness.url) == "next")
            #expect(executor.runs == 1)
        }
    }

    @Test func aStandbyThatNeverAcknowledgesGivesWayWithinTheWait() async throws {
        try await withRestart { harness, executor, restarter in
            let standby = try #require(await Self.waitForOpen(executor))
            // Alive but deaf, as a stream a proxy dropped without a word.
            kill(standby.processIdentifier, SIGSTOP)
            let started = ContinuousClock.now
            let outcome = try await restarter.restart()
            #expect(outcome.built)
            #expect(await fetchBody(harness.url) == "next")
            #expect(executor.runs == 1)
            #expect(ContinuousClock.now - started < InPodRestarter.acknowledgementWait + .seconds(30))
            #expect(await Self.ends(standby), "the silent standby was not dropped")
        }
    }

    @Test func aStandbyInAReplacedPodIsNotUsed() async throws {
        try await withRestart(current: false) { harness, executor, restarter in
            let standby = try #require(await Self.waitForOpen(executor))
            let outcome = try await restarter.restart()
            #expect(outcome.built)
            #expect(await fetchBody(harness.url) == "next")
            #expect(executor.runs == 1)
            #expect(await Self.ends(standby), "the standby of the replaced pod was left open")
        }
    }

    /// A supervisor serving "first", a restarter whose standby is being opened, and the source changed to
    /// "next".
    private func withRestart(
        current: Bool = true,
        _ body: (InPodRestarterTests.Harness, CountingExecutor, InPodRestarter) async throws -> Void
    ) async throws {
        let harness = try InPodRestarterTests.Harness()
        defer { harness.remove() }
        let supervisor = try SupervisorProcess(shell: ["/bin/sh"], environment: harness.environment)
        defer { supervisor.forceStop(control: harness.control) }
        try SupervisedApp.write(to: harness.app, message: "first")
        #expect(await waitForBody(harness.url, "first", timeout: .seconds(20)) == "first")
        let executor = CountingExecutor(
            StreamingShellExecutor(shell: ["/bin/sh"], environment: harness.environment, current: current))
        let restarter = Self.restarter(executor, harness)
        await restarter.prepare()
        try SupervisedApp.setSource("next", in: harness.app)
        try await body(harness, executor, restarter)
        await restarter.close()
    }

    static func restarter(_ executor: CountingExecutor, _ harness: InPodRestarterTests.Harness) -> InPodRestarter {
        InPodRestarter(
            executor: executor,
            policy: RestartPolicy(paths: ["*.txt"], build: SupervisedApp.build, run: SupervisedApp.run),
            remoteRoot: harness.app.path)
    }

    /// The newest stream once `count` have been opened (within 10 s).
    static func waitForOpen(_ executor: CountingExecutor, count: Int = 1) async -> LocalProcessStream? {
        for _ in 0..<400 {
            if executor.opens >= count, let stream = executor.opened.last as? LocalProcessStream { return stream }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return nil
    }

    /// Whether the stream's process has exited within 10 s.
    static func ends(_ stream: LocalProcessStream) async -> Bool {
        for _ in 0..<400 {
            if !stream.process.isRunning { return true }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return false
    }
}

/// `LocalShellExecutor` that also keeps a command running; `current` is what its streams say when asked
/// whether they still reach the container in use.
struct StreamingShellExecutor: StreamingContainerExecutor {
    let shell: LocalShellExecutor
    let current: Bool

    init(shell: [String], environment: [String: String], current: Bool = true) {
        self.shell = LocalShellExecutor(shell: shell, environment: environment)
        self.current = current
    }

    func run(_ command: [String], stdin: Data) async throws -> ExecResult {
        try await shell.run(command, stdin: stdin)
    }

    func open(_ command: [String]) async throws -> any ContainerStream {
        try LocalProcessStream(
            executable: "/usr/bin/python3", arguments: shell.arguments(command), environment: shell.processEnvironment)
    }

    func openAhead(_ command: [String]) async throws -> StreamOpenedAhead {
        StreamOpenedAhead(stream: try await open(command), isCurrent: { [current] in current })
    }
}
