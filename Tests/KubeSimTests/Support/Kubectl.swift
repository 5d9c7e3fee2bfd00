import Foundation
import ProcessTestSupport

/// Runs the real /usr/bin/kubectl against a kubesim, with nothing but KUBECONFIG to help it.
struct Kubectl {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    let kubeconfig: String

    /// `timeout` only catches a hang: with the kubesim suites side by side under a load of 22 on
    /// 2 cores, one `kubectl apply` of a namespace and a Deployment took over 60 s (alone: 24-41 s
    /// for the whole test, about 5 s on an idle machine).
    func run(_ arguments: [String], stdin: String? = nil, timeout: Duration = .seconds(180)) async throws -> Result {
        let process = try RunningProcess(kubeconfig: kubeconfig, arguments: arguments, stdin: stdin)
        let status = try await process.wait(timeout: timeout)
        return Result(status: status, stdout: process.stdout, stderr: process.stderr)
    }

    func start(_ arguments: [String], environment: [String: String] = [:]) throws -> RunningProcess {
        try RunningProcess(kubeconfig: kubeconfig, arguments: arguments, stdin: nil, environment: environment)
    }
}

/// A kubectl (or other) process whose output is collected as it arrives.
final class RunningProcess: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private var status: OneShot<Int32>!
    private let outputEnded = (OneShot<Void>(), OneShot<Void>())

    init(
        kubeconfig: String?, arguments: [String], stdin: String?, executable: String = "/usr/bin/kubectl",
        environment extra: [String: String] = [:]
    ) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["KUBECONFIG"] = kubeconfig
        environment["HOME"] = NSTemporaryDirectory()
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let (output, errors) = (Pipe(), Pipe())
        process.standardOutput = output
        process.standardError = errors
        status = process.exitStatus()
        if let stdin {
            let input = Pipe()
            process.standardInput = input
            try process.run()
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        Self.read(output.fileHandleForReading, ended: outputEnded.0) { [self] data in
            lock.withLock { out.append(data) }
        }
        Self.read(errors.fileHandleForReading, ended: outputEnded.1) { [self] data in
            lock.withLock { err.append(data) }
        }
    }

    /// Reads to the end of file on a thread of its own (blocking reads stay off the cooperative pool;
    /// no dispatch source outlives the pipe).
    private static func read(
        _ handle: FileHandle, ended: OneShot<Void>, append: @escaping @Sendable (Data) -> Void
    ) {
        let thread = Thread {
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                append(data)
            }
            ended.complete(())
        }
        thread.name = "test-process-output"
        thread.start()
    }

    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }
    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { status.value == nil }

    /// The exit status once the process has exited and its output has been read to the end (a child
    /// it left behind may hold the pipes: then what came within 2 s).
    func wait(timeout: Duration) async throws -> Int32 {
        guard let code = await status.wait(timeout: timeout) else {
            process.terminate()
            throw TestFailure(
                "\(process.arguments ?? []) did not finish in \(timeout); stdout: \(stdout) stderr: \(stderr)")
        }
        _ = await outputEnded.0.wait(timeout: .seconds(2))
        _ = await outputEnded.1.wait(timeout: .seconds(2))
        return code
    }

    /// Waits until stdout satisfies `condition`.
    func waitForOutput(timeout: Duration = .seconds(30), _ what: String, _ condition: (String) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition(stdout) {
            guard ContinuousClock.now < deadline else {
                throw TestFailure("timed out waiting for \(what); stdout: \(stdout) stderr: \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func stop() {
        if isRunning { process.interrupt() }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls until `condition` holds.
func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(100))
    }
}

func temporaryDirectory(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "kubesim-\(name)-\(UUID().uuidString.prefix(8))")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
