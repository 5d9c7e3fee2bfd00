import Foundation

/// A child process whose output the test reads while it runs. Stopped by `stop()` or when its
/// `deinit` runs, so a failing test never leaves it behind.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var stdoutText = ""
    private var stderrText = ""

    init(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:]) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TestSetupError(
                "\(executable) is missing: build first (`swift build --build-tests`; dev/test.sh does)")
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for variable in ["DATABASE_URL", "PORT", "HOST", "TEMPLATES_DIR", "TEMPLATES_RELOAD", "MIGRATE_ON_START"] {
            merged[variable] = nil
        }
        process.environment = merged.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in
            self?.append(handle.availableData, toStdout: true)
        }
        err.fileHandleForReading.readabilityHandler = { [weak self] handle in
            self?.append(handle.availableData, toStdout: false)
        }
        try process.run()
    }

    deinit { stop() }

    var stdout: String { lock.withLock { stdoutText } }
    var stderr: String { lock.withLock { stderrText } }

    private func append(_ data: Data, toStdout: Bool) {
        guard !data.isEmpty else { return }
        let text = String(decoding: data, as: UTF8.self)
        lock.withLock {
            if toStdout { stdoutText += text } else { stderrText += text }
        }
    }

    /// Waits until stdout has a line matching `pattern` and returns its first capture group.
    func waitForOutput(_ pattern: String, timeout: Duration = .seconds(60)) async throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = stdout
            if let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) {
                let range = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
                return String(text[Range(range, in: text)!])
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("no output matching /\(pattern)/; stdout:\n\(stdout)\nstderr:\n\(stderr)")
    }

    /// Waits for the process to exit by itself and returns its status.
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                stop()
                throw TestSetupError("\(process.executableURL!.lastPathComponent) did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        // Let the readability handlers drain what the process wrote last.
        try await Task.sleep(for: .milliseconds(100))
        return process.terminationStatus
    }

    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Kills the process if it still runs.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// The `WebApp` executable built next to the test bundle.
var webAppExecutable: String {
    let testBinaryFolder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    let candidates = [testBinaryFolder + "/WebApp", packageRoot + "/.build/debug/WebApp"]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}
