import Foundation
import Glibc
import LockedValue

@testable import DevLoop

/// A command kept running as a local process, as a pod exec keeps one running: stdin is written as
/// the caller goes and never closed (like a Kubernetes < 1.30 exec), stdout and stderr come as read.
final class LocalProcessStream: ContainerStream, @unchecked Sendable {
    let process = Process()
    private let input = Pipe()
    let output: AsyncThrowingStream<ContainerOutput, Error>
    private let writes = DispatchQueue(label: "devloop-test-stream-stdin")

    convenience init(_ command: [String], busyboxBin: String?) throws {
        var arguments = command
        if let busyboxBin {
            let executable = busyboxBin + "/" + arguments.removeFirst()
            try self.init(executable: executable, arguments: arguments, environment: ["PATH": busyboxBin])
        } else {
            try self.init(executable: "/usr/bin/env", arguments: arguments, environment: nil)
        }
    }

    /// `environment` nil: this process's.
    init(executable: String, arguments: [String], environment: [String: String]?) throws {
        signal(SIGPIPE, SIG_IGN)
        process.executableURL = URL(fileURLWithPath: executable)
        process.environment = environment
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = input
        process.standardOutput = stdout
        process.standardError = stderr
        let (output, sink) = AsyncThrowingStream.makeStream(of: ContainerOutput.self)
        self.output = output
        let exited = DispatchSemaphore(value: 0)
        let code = Locked<Int32>(0)
        process.terminationHandler = { process in
            let status = process.terminationStatus
            code.withLock { $0 = process.terminationReason == .uncaughtSignal ? 128 + status : status }
            exited.signal()
        }
        try process.run()
        let readers = DispatchGroup()
        for (pipe, wrap) in [(stdout, ContainerOutput.stdout), (stderr, ContainerOutput.stderr)] {
            readers.enter()
            // Plain read(2): FileHandle's readers trap on a read error.
            let fd = pipe.fileHandleForReading.fileDescriptor
            Thread {
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while case let count = read(fd, &buffer, buffer.count), count > 0 {
                    sink.yield(wrap(Data(buffer[0..<count])))
                }
                withExtendedLifetime(pipe) {}
                readers.leave()
            }.start()
        }
        // Waits off the cooperative threads; a killed shell's children may hold the pipes open a while.
        Thread {
            exited.wait()
            _ = readers.wait(timeout: .now() + 2)
            sink.yield(.exit(code.withLock { $0 }))
            sink.finish()
        }.start()
    }

    var processIdentifier: Int32 { process.processIdentifier }

    func write(_ data: Data) async throws {
        let handle = input.fileHandleForWriting
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, Error>) in
            writes.async { done.resume(with: Result { try handle.write(contentsOf: data) }) }
        }
    }

    /// As a dropped exec stream: the process is killed.
    func cancel() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Hides a streaming executor's `open`: the transport then runs one exec per batch.
struct ExecPerBatch: ContainerExecutor {
    let inner: any ContainerExecutor
    func run(_ command: [String], stdin: Data) async throws -> ExecResult {
        try await inner.run(command, stdin: stdin)
    }
}

/// Counts the execs a transport asks for, kept open or one-shot.
final class CountingExecutor: StreamingContainerExecutor, @unchecked Sendable {
    let inner: any StreamingContainerExecutor
    private let lock = NSLock()
    private var counts = (runs: 0, opens: 0)
    private var streams: [any ContainerStream] = []

    init(_ inner: any StreamingContainerExecutor) { self.inner = inner }

    var runs: Int { lock.withLock { counts.runs } }
    var opens: Int { lock.withLock { counts.opens } }
    /// The streams opened so far, the newest last.
    var opened: [any ContainerStream] { lock.withLock { streams } }

    func run(_ command: [String], stdin: Data) async throws -> ExecResult {
        lock.withLock { counts.runs += 1 }
        return try await inner.run(command, stdin: stdin)
    }

    func open(_ command: [String]) async throws -> any ContainerStream {
        try await openAhead(command).stream
    }

    func openAhead(_ command: [String]) async throws -> StreamOpenedAhead {
        let opened = try await inner.openAhead(command)
        lock.withLock {
            counts.opens += 1
            streams.append(opened.stream)
        }
        return opened
    }
}
