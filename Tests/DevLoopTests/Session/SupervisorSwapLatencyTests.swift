import Foundation
import Testing

/// The exec side of dev/supervisor.sh notices the supervisor's answer within its short poll: a
/// restart's save -> serving time is devloop's, and a 200 ms nap there cost up to 200 ms a restart
/// (devloop-bench loop measures it). The test plays the supervisor and notes every nap swap takes.
@Suite(.timeLimit(.minutes(1))) struct SupervisorSwapLatencyTests {
    @Test(arguments: InPodRestarterTests.shells) func swapPollsTheAnswerEveryFiftiethOfASecond(shell: [String])
        async throws
    {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "devloop-swap-\(UUID().uuidString.prefix(8))")
        let control = folder.appendingPathComponent("control")
        let bin = folder.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: control, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("1\n".utf8).write(to: control.appendingPathComponent("supervisor.pid"))
        // A `sleep` first on PATH that notes each nap's length: what the waits are, whatever the load.
        let log = folder.appendingPathComponent("naps")
        let shim = bin.appendingPathComponent("sleep")
        try Data("#!/bin/sh\necho \"$1\" >> \(log.path)\nexec /bin/sleep \"$@\"\n".utf8).write(to: shim)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: shim.path)
        let status = try await Self.swap(shell: shell, control: control, path: bin.path)
        #expect(status == 0)
        let naps = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        // Once at least (the answer comes 30 ms after the request), and never the idle 0.2 s nap.
        #expect(!naps.isEmpty)
        #expect(naps.allSatisfy { $0 == "0.02" }, "naps: \(naps)")
    }

    /// Runs `supervisor.sh swap` and answers its request 30 ms after it appears, as a supervisor does
    /// once it has stopped the old server and started the new one; swap's exit status.
    static func swap(shell: [String], control: URL, path: String) async throws -> Int32? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: shell[0])
        process.arguments =
            Array(shell.dropFirst()) + [repositoryRoot.appendingPathComponent("dev/supervisor.sh").path, "swap"]
        let environment = ProcessInfo.processInfo.environment
        process.environment = environment.merging([
            "DEVLOOP_CONTROL_DIR": control.path, "DEVLOOP_RUN": "true", "DEVLOOP_SWAP_TIMEOUT": "10",
            "PATH": path + ":" + (environment["PATH"] ?? "/usr/bin:/bin"),
        ]) { _, new in new }
        let ended = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { ended.continuation.yield($0.terminationStatus) }
        try process.run()
        let request = control.appendingPathComponent("request")
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: request.path) {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        let id = try String(contentsOf: request, encoding: .utf8).split(separator: "\n").first ?? ""
        try FileManager.default.removeItem(at: request)
        try await Task.sleep(for: .milliseconds(30))
        try Data("started 1\n".utf8).write(to: control.appendingPathComponent("answer.\(id)"))
        for await code in ended.stream { return code }
        return nil
    }
}
