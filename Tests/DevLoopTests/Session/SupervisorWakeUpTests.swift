import DevLoop
import Foundation
import Testing

/// dev/supervisor.sh and the exec that asks it for a restart wake each other with a signal instead of
/// looking for each other's files: a look every 200 ms cost a restart 100 ms on average (devloop-bench
/// loop measures it), and an idle supervisor forked `sleep` five times a second. A `sleep` first on PATH
/// notes each nap and whether it ran to its end, whatever the load.
@Suite(.timeLimit(.minutes(2))) struct SupervisorWakeUpTests {
    @Test(arguments: InPodRestarterTests.shells) func swapIsWokenByTheAnswerNotByANap(shell: [String]) async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let control = folder.appendingPathComponent("control")
        let naps = folder.appendingPathComponent("naps")
        let path = try Self.sleepShim(in: folder, log: naps)
        // The supervisor's part, played by a shell script: it answers 30 ms after the request wakes it.
        let supervisor = try SupervisorProcess(
            shell: ["/bin/sh", "-c", Self.answeringSupervisor, "fake-supervisor"],
            environment: ["CONTROL": control.path], script: nil)
        defer { supervisor.forceStop(control: control) }
        #expect(await supervisor.waitForOutput("listening", timeout: .seconds(20)))

        let status = try await Self.run(
            shell: shell, verb: "swap",
            environment: ["DEVLOOP_CONTROL_DIR": control.path, "DEVLOOP_RUN": "true", "PATH": path])
        #expect(status == 0)
        #expect(supervisor.output.contains("answered"))
        // swap dozed (it always starts one nap), and the answer cut every nap short.
        let log = try String(contentsOf: naps, encoding: .utf8)
        #expect(log.contains("start"), "naps: \(log)")
        #expect(!log.contains("end"), "a nap ran to its end: \(log)")
    }

    @Test(arguments: InPodRestarterTests.shells) func anIdleSupervisorTakesNoNapsAndARequestWakesIt(shell: [String])
        async throws
    {
        let harness = try InPodRestarterTests.Harness()
        defer { harness.remove() }
        let naps = harness.folder.appendingPathComponent("naps")
        let path = try Self.sleepShim(in: harness.folder, log: naps)
        try SupervisedApp.write(to: harness.app, message: "idle")
        var environment = harness.environment
        environment["PATH"] = path
        let supervisor = try SupervisorProcess(shell: shell, environment: environment)
        defer { supervisor.forceStop(control: harness.control) }
        #expect(await waitForBody(harness.url, "idle", timeout: .seconds(20)) == "idle")

        // A second of idling: the old loop napped every 200 ms.
        let before = (try? String(contentsOf: naps, encoding: .utf8)) ?? ""
        try await Task.sleep(for: .seconds(1))
        let after = (try? String(contentsOf: naps, encoding: .utf8)) ?? ""
        #expect(after == before, "the idle supervisor napped: \(after.dropFirst(before.count))")

        try SupervisedApp.setSource("woken", in: harness.app)
        let outcome = try await harness.restarter(shell: shell).restart()
        #expect(outcome.built)
        #expect(await fetchBody(harness.url) == "woken")
        #expect(await supervisor.terminate() == 0)
    }

    /// Each `mv` or `rm` is a process start, 5-20 ms on a loaded node: a restart's request and answer are
    /// rewritten in place (whole once their id is), so that the swap and the supervisor start none.
    @Test(arguments: InPodRestarterTests.shells) func aRestartMovesAndRemovesNoFile(shell: [String]) async throws {
        let harness = try InPodRestarterTests.Harness()
        defer { harness.remove() }
        let log = harness.folder.appendingPathComponent("commands")
        let path = try Self.loggingShims(["mv", "rm"], in: harness.folder, log: log)
        try SupervisedApp.write(to: harness.app, message: "first")
        var environment = harness.environment
        environment["PATH"] = path
        let supervisor = try SupervisorProcess(shell: shell, environment: environment)
        defer { supervisor.forceStop(control: harness.control) }
        #expect(await waitForBody(harness.url, "first", timeout: .seconds(20)) == "first")
        let started = (try? String(contentsOf: log, encoding: .utf8)) ?? ""

        for message in ["second", "third"] {
            try SupervisedApp.setSource(message, in: harness.app)
            let outcome = try await InPodRestarter(
                executor: LocalShellExecutor(shell: shell, environment: environment),
                policy: RestartPolicy(paths: ["*.txt"], build: SupervisedApp.build, run: SupervisedApp.run),
                remoteRoot: harness.app.path
            ).restart()
            #expect(outcome.built)
            #expect(await fetchBody(harness.url) == message)
        }
        let after = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(after == started, "a restart ran: \(after.dropFirst(started.count))")
        #expect(await supervisor.terminate() == 0)
    }

    /// Shims for `commands` that log "NAME ARGS" and run the real one; the PATH with them first.
    static func loggingShims(_ commands: [String], in folder: URL, log: URL) throws -> String {
        let bin = folder.appendingPathComponent("logged-bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let realPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for command in commands {
            let shim = bin.appendingPathComponent(command)
            try Data(
                "#!/bin/sh\necho \"\(command) $*\" >> \(log.path)\nPATH=\(realPath) exec \(command) \"$@\"\n".utf8
            ).write(to: shim)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: shim.path)
        }
        return bin.path + ":" + realPath
    }

    /// Writes its "pid start" where swap looks for the supervisor, waits for a wake-up, answers the
    /// request 30 ms later and wakes the exec the request names.
    static let answeringSupervisor = """
        trap 'woken=1' USR1
        mkdir -p "$CONTROL"
        read -r stat </proc/$$/stat
        set -- ${stat##*) }
        echo "$$ ${20}" >"$CONTROL/supervisor.pid"
        echo listening
        /bin/sleep 60 &
        wait $!
        kill $! 2>/dev/null
        read -r id <"$CONTROL/request"
        rm -f "$CONTROL/request"
        /bin/sleep 0.03
        echo "$id started 1" >"$CONTROL/answer"
        rest=${id#*-}
        kill -USR1 "${id%%-*}"
        echo "answered ${id%%-*} ${rest%%-*}"

        """

    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "devloop-wake-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A `sleep` that logs "start N" and, when it was not killed first, "end N"; the PATH with it first.
    static func sleepShim(in folder: URL, log: URL) throws -> String {
        let bin = folder.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let shim = bin.appendingPathComponent("sleep")
        try Data(
            "#!/bin/sh\necho \"start $1\" >> \(log.path)\n/bin/sleep \"$@\"\necho \"end $1\" >> \(log.path)\n".utf8
        )
        .write(to: shim)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: shim.path)
        return bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    }

    /// Runs `supervisor.sh VERB` as an exec would, signals unblocked; its exit status.
    static func run(shell: [String], verb: String, environment: [String: String]) async throws -> Int32? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments =
            [
                "-c",
                "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])",
            ] + shell + [repositoryRoot.appendingPathComponent("dev/supervisor.sh").path, verb]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let ended = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { ended.continuation.yield($0.terminationStatus) }
        try process.run()
        for await code in ended.stream { return code }
        return nil
    }
}
