import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Shared by the test targets: processes and their output are awaited here, never with
/// `waitUntilExit`, `while isRunning` or a blocking read on Swift's cooperative threads.

/// A value that arrives once (a process's exit status, the end of its output), awaited without a
/// thread blocked and without polling; every wait has a deadline.
public final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [Int: CheckedContinuation<Value?, Never>] = [:]
        var next = 0
    }
    private let state = Mutex(State())

    public init() {}

    public var value: Value? { state.withLock { $0.value } }

    public func complete(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value?, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// The value, or nil when it has not come within `timeout`.
    public func wait(timeout: Duration) async -> Value? {
        await withCheckedContinuation { waiter in
            let key = state.withLock { state -> Int? in
                if let value = state.value {
                    waiter.resume(returning: value)
                    return nil
                }
                state.next += 1
                state.waiters[state.next] = waiter
                return state.next
            }
            guard let key else { return }
            Task {
                try? await Task.sleep(for: timeout)
                self.state.withLock { $0.waiters.removeValue(forKey: key) }?.resume(returning: nil)
            }
        }
    }
}

extension Process {
    /// The exit status (128 + signal for a signalled process), delivered by the termination handler:
    /// call before `run()`.
    public func exitStatus() -> OneShot<Int32> {
        let status = OneShot<Int32>()
        terminationHandler = { process in
            let code = process.terminationStatus
            status.complete(process.terminationReason == .uncaughtSignal ? 128 + code : code)
        }
        return status
    }
}

/// A finished program: its exit status (nil when it outlived its deadline and was killed) and output.
public struct ProcessOutcome: Sendable {
    public var status: Int32?
    public var stdout: Data
    public var stderr: Data
}

extension Process {
    /// Runs the process to its end: stdout and stderr (piped here, whatever was set) are read on threads
    /// of their own, the exit comes through the termination handler, and past `timeout` the process is
    /// killed. `stdin` is written on a thread of its own when given.
    public func runToEnd(stdin input: Data? = nil, timeout: Duration = .seconds(60)) async throws -> ProcessOutcome {
        let output = Pipe()
        let errors = Pipe()
        standardOutput = output
        standardError = errors
        let inputPipe = input.map { _ in Pipe() }
        if let inputPipe { standardInput = inputPipe }
        let status = exitStatus()
        try run()
        let stdout = Self.readToEnd(output)
        let stderr = Self.readToEnd(errors)
        if let inputPipe, let input {
            let writer = Thread {
                try? inputPipe.fileHandleForWriting.write(contentsOf: input)
                try? inputPipe.fileHandleForWriting.close()
            }
            writer.start()
        }
        var code = await status.wait(timeout: timeout)
        if code == nil {
            kill(processIdentifier, SIGKILL)
            _ = await status.wait(timeout: .seconds(10))
            code = nil
        }
        return ProcessOutcome(
            status: code, stdout: await stdout.wait(timeout: .seconds(10)) ?? Data(),
            stderr: await stderr.wait(timeout: .seconds(10)) ?? Data())
    }

    /// Everything `pipe` carries, read on a thread of its own (empty at once for no pipe).
    public static func readToEnd(_ pipe: Pipe?) -> OneShot<Data> {
        let data = OneShot<Data>()
        guard let pipe else {
            data.complete(Data())
            return data
        }
        let reader = Thread { data.complete(pipe.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        return data
    }
}
