import DevLoop
import Foundation
import ProcessTestSupport
import Testing

/// dev/supervisor.sh and `InPodRestarter` on this machine, under dash and busybox sh: the exec side
/// and the supervisor meet only through the control folder, as in a pod.
@Suite(.timeLimit(.minutes(3))) struct InPodRestarterTests {
    static let shells: [[String]] = [["/bin/sh"], ["/usr/bin/busybox", "sh"]]

    struct Harness {
        let folder: URL
        let app: URL
        let port: Int
        let environment: [String: String]
        var url: String { "http://127.0.0.1:\(port)/" }
        var control: URL { folder.appendingPathComponent("control") }

        init(readyCheck: Bool = true) throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "devloop-supervisor-\(UUID().uuidString.prefix(8))")
            app = folder.appendingPathComponent("app")
            port = freeLocalPort()
            var environment = [
                "DEVLOOP_APP_DIR": app.path, "DEVLOOP_CONTROL_DIR": folder.appendingPathComponent("control").path,
                "DEVLOOP_BUILD": SupervisedApp.build, "DEVLOOP_RUN": SupervisedApp.run, "DEVLOOP_WAIT_FOR": "serve.py",
                "DEVLOOP_BACKOFF_MAX": "30", "DEVLOOP_STOP_TIMEOUT": "5", "HOST": "127.0.0.1", "PORT": "\(port)",
            ]
            if readyCheck { environment["DEVLOOP_READY_COMMAND"] = "curl -fsS -o /dev/null http://127.0.0.1:\(port)/" }
            self.environment = environment
        }

        func restarter(shell: [String], policy: RestartPolicy? = nil) -> InPodRestarter {
            InPodRestarter(
                executor: LocalShellExecutor(shell: shell, environment: environment),
                policy: policy ?? RestartPolicy(paths: ["*.txt"], build: SupervisedApp.build, run: SupervisedApp.run),
                remoteRoot: app.path)
        }

        func remove() { try? FileManager.default.removeItem(at: folder) }
    }

    @Test func shellcheckPasses() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "shellcheck", "--shell=sh", repositoryRoot.appendingPathComponent("dev/supervisor.sh").path,
        ]
        let outcome = try await process.runToEnd()
        let report = String(decoding: outcome.stdout + outcome.stderr, as: UTF8.self)
        #expect(outcome.status == 0, "shellcheck (install it with dev/setup.sh): \(report)")
    }

    @Test(arguments: shells) func restartRebuildsAndReplacesTheServer(shell: [String]) async throws {
        let harness = try Harness()
        defer { harness.remove() }
        let supervisor = try SupervisorProcess(shell: shell, environment: harness.environment)
        defer { supervisor.forceStop(control: harness.control) }
        // The sources arrive after the supervisor started, as devloop's first sync does.
        #expect(await supervisor.waitForOutput("waiting for the synced sources", timeout: .seconds(10)))
        try SupervisedApp.write(to: harness.app, message: "one")
        #expect(await waitForBody(harness.url, "one", timeout: .seconds(20)) == "one")

        try SupervisedApp.setSource("two", in: harness.app)
        let outcome = try await harness.restarter(shell: shell).restart()
        #expect(outcome.built)
        #expect(outcome.buildOutput.contains("compiled source.txt"))
        // swap returns once the ready command passes: the very next request sees the new server.
        #expect(await fetchBody(harness.url) == "two")

        #expect(await supervisor.terminate() == 0)
        #expect(supervisor.output.contains("server (pid"))
        #expect(await fetchBody(harness.url, timeout: 1) == nil, "the server outlived its supervisor")
    }

    @Test(arguments: shells) func aFailedBuildKeepsTheOldServer(shell: [String]) async throws {
        let harness = try Harness()
        defer { harness.remove() }
        try SupervisedApp.write(to: harness.app, message: "good")
        let supervisor = try SupervisorProcess(shell: shell, environment: harness.environment)
        defer { supervisor.forceStop(control: harness.control) }
        #expect(await waitForBody(harness.url, "good", timeout: .seconds(20)) == "good")

        try SupervisedApp.setSource("BROKEN", in: harness.app)
        let outcome = try await harness.restarter(shell: shell).restart()
        #expect(!outcome.built)
        #expect(outcome.buildOutput.contains("source.txt:1:1: error: the source is broken"))
        #expect(outcome.restartDuration == .zero)
        #expect(await fetchBody(harness.url) == "good")
        #expect(!supervisor.output.contains("restart requested"))

        try SupervisedApp.setSource("fixed", in: harness.app)
        #expect(try await harness.restarter(shell: shell).restart().built)
        #expect(await fetchBody(harness.url) == "fixed")
        #expect(await supervisor.terminate() == 0)
    }

    @Test(arguments: shells) func aCrashedServerIsRestartedWithBackOff(shell: [String]) async throws {
        let harness = try Harness()
        defer { harness.remove() }
        try SupervisedApp.write(to: harness.app, message: "alive")
        let supervisor = try SupervisorProcess(shell: shell, environment: harness.environment)
        defer { supervisor.forceStop(control: harness.control) }
        #expect(await waitForBody(harness.url, "alive", timeout: .seconds(20)) == "alive")
        for crash in 1...2 {
            _ = await fetchBody(harness.url + "crash", timeout: 2)
            #expect(await supervisor.waitForOutput("exited with status 3", count: crash, timeout: .seconds(10)))
            #expect(await waitForBody(harness.url, "alive", timeout: .seconds(20)) == "alive")
        }
        // The second crash waits twice as long as the first.
        #expect(supervisor.output.contains("restarting it in 1s"))
        #expect(supervisor.output.contains("restarting it in 2s"))
        #expect(await supervisor.terminate() == 0)
    }

    @Test func aFailedFirstBuildIsTriedAgainOnceTheSourcesAreComplete() async throws {
        var harness = try Harness()
        defer { harness.remove() }
        var environment = harness.environment
        environment["DEVLOOP_BUILD_RETRY"] = "1"
        harness = Harness(copying: harness, environment: environment)
        // As if the first sync had delivered serve.py but not yet the finished source.
        try SupervisedApp.write(to: harness.app, message: "BROKEN")
        let supervisor = try SupervisorProcess(shell: ["/bin/sh"], environment: environment)
        defer { supervisor.forceStop(control: harness.control) }
        #expect(await supervisor.waitForOutput("building again in 1s", timeout: .seconds(20)))
        try SupervisedApp.setSource("complete", in: harness.app)
        #expect(await waitForBody(harness.url, "complete", timeout: .seconds(20)) == "complete")
        #expect(await supervisor.terminate() == 0)
    }

    @Test func withoutASupervisorTheRestarterSaysSo() async throws {
        let harness = try Harness()
        defer { harness.remove() }
        try SupervisedApp.write(to: harness.app, message: "x")
        await #expect(throws: InPodRestartError.self) {
            _ = try await harness.restarter(shell: ["/bin/sh"]).restart()
        }
        do {
            _ = try await harness.restarter(shell: ["/bin/sh"]).restart()
        } catch let error as InPodRestartError {
            #expect("\(error)".contains("supervisor.sh is missing"))
        }
    }

    @Test func aServerThatIgnoresTermIsKilledAfterTheStopTimeout() async throws {
        var harness = try Harness(readyCheck: false)
        defer { harness.remove() }
        try SupervisedApp.write(to: harness.app, message: "stubborn")
        var environment = harness.environment
        environment["DEVLOOP_STOP_TIMEOUT"] = "1"
        environment["DEVLOOP_RUN"] = "trap '' TERM; echo stubborn up; while :; do sleep 1; done"
        harness = Harness(copying: harness, environment: environment)
        let supervisor = try SupervisorProcess(shell: ["/bin/sh"], environment: environment)
        defer { supervisor.forceStop(control: harness.control) }
        #expect(await supervisor.waitForOutput("stubborn up", timeout: .seconds(20)))
        #expect(await supervisor.terminate() == 0)
        // The output is read on a handler of its own: its last lines may come after the exit status.
        #expect(await supervisor.waitForOutput("ignored TERM for 1s: killing it", timeout: .seconds(10)))
    }
}

extension InPodRestarterTests.Harness {
    init(copying other: Self, environment: [String: String]) {
        folder = other.folder
        app = other.app
        port = other.port
        self.environment = environment
    }
}
