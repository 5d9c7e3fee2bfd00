import Foundation
import Glibc
import ProcessTestSupport

/// A program run to its end with stdout and stderr kept apart (each into a file, so neither pipe can
/// fill and stall it), its end awaited through the termination handler: nothing blocks the cooperative pool.
struct CommandRun: Sendable {
    /// nil when the program was still running after the timeout (it is killed then).
    var status: Int32?
    /// True when the program died of a signal (a crash) instead of exiting.
    var signalled: Bool
    var stdout: String
    var stderr: String

    var combined: String { stdout + stderr }

    /// HOME is `directory`, KUBECONFIG only what `environment` says (a test never sees the machine's
    /// kubeconfig), NO_COLOR is set; a nil value in `environment` removes a variable.
    static func run(
        _ arguments: [String], directory: String, environment overrides: [String: String?] = [:],
        executable: String = DevLoopProcess.binary, timeout: Int = 60, stdin: String? = nil
    ) async throws -> CommandRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = DevLoopProcess.environment(home: directory, kubeconfig: nil, overrides)
        let outputs = FileManager.default.temporaryDirectory.appendingPathComponent("devloop-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outputs) }
        let out = outputs.appendingPathComponent("stdout")
        let err = outputs.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }
        process.standardOutput = outHandle
        process.standardError = errHandle
        if let stdin {
            let input = outputs.appendingPathComponent("stdin")
            try stdin.write(to: input, atomically: true, encoding: .utf8)
            process.standardInput = try FileHandle(forReadingFrom: input)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        let exited = process.exitStatus()
        try process.run()
        var finished = true
        if await exited.wait(timeout: .seconds(timeout)) == nil {
            kill(process.processIdentifier, SIGKILL)
            _ = await exited.wait(timeout: .seconds(10))
            finished = false
        }
        return CommandRun(
            status: finished ? process.terminationStatus : nil,
            signalled: finished && process.terminationReason == .uncaughtSignal,
            stdout: Self.read(out), stderr: Self.read(err))
    }

    /// At most 1 MiB of an output file.
    private static func read(_ url: URL) -> String {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return "" }
        defer { try? handle.close() }
        return String(decoding: (try? handle.read(upToCount: 1 << 20)) ?? Data(), as: UTF8.self)
    }

    /// What a crash or an unhandled Swift error leaves in the output.
    static let stackTraceMarkers = [
        "Fatal error", "Stack dump", "Current stack trace", "Backtrace", "crashed:", "💣", "#0 0x", "SIGSEGV",
        "SIGILL", "SIGTRAP", "SIGABRT",
    ]

    /// The first stack-trace marker in the output, if any.
    var stackTrace: String? { Self.stackTraceMarkers.first { combined.contains($0) } }
}
