import Foundation
import Glibc
import ProcessTestSupport
import Testing

/// The built `devloop` binary run as a user runs it, its output read line by line on a thread of its
/// own so that a test can await a line instead of sleeping.
final class DevLoopProcess: @unchecked Sendable {
    static let binary: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/devloop").path
    }()

    let process = Process()
    private let lock = NSLock()
    private var lines: [String] = []
    /// When each line was read: recovery times are measured to a line's arrival, not to a poll.
    private var arrivals: [ContinuousClock.Instant] = []
    private var waiters: [(id: UUID, predicate: (String) -> Bool, continuation: CheckedContinuation<String?, Never>)] =
        []
    private let readerEnded = OneShot<Bool>()
    private var ended = false
    private let exited: OneShot<Int32>

    /// HOME and KUBECONFIG are replaced (a test never sees the machine's kubeconfig); NO_COLOR is set
    /// unless `environment` says otherwise (a nil value removes a variable). `executable` runs another
    /// program the same way (a browser, or `script` to give devloop a terminal).
    init(
        _ arguments: [String], directory: String, kubeconfig: String? = nil,
        environment overrides: [String: String?] = [:], executable: String = DevLoopProcess.binary
    ) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = Self.environment(home: directory, kubeconfig: kubeconfig, overrides)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        exited = process.exitStatus()
        try process.run()
        let reader = Thread { [self] in read(output.fileHandleForReading) }
        reader.start()
    }

    /// A test that throws before its Ctrl-C must not leave devloop behind: a failed fault test left an
    /// `up` running for an hour, retrying against its kubesim that was gone.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// The test process's environment with HOME, KUBECONFIG (removed when nil) and NO_COLOR set, then
    /// `overrides` (a nil value removes a variable).
    static func environment(home: String, kubeconfig: String?, _ overrides: [String: String?]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = home
        environment["KUBECONFIG"] = kubeconfig
        environment["NO_COLOR"] = "1"
        for (name, value) in overrides { environment[name] = value }
        return environment
    }

    private func read(_ handle: FileHandle) {
        var pending = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                deliver(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
        }
        if !pending.isEmpty { deliver(String(decoding: pending, as: UTF8.self)) }
        lock.withLock {
            ended = true
            for waiter in waiters { waiter.continuation.resume(returning: nil) }
            waiters = []
        }
        readerEnded.complete(true)
    }

    private func deliver(_ line: String) {
        lock.withLock {
            lines.append(line)
            arrivals.append(.now)
            let ready = waiters.filter { $0.predicate(line) }
            waiters.removeAll { $0.predicate(line) }
            for waiter in ready { waiter.continuation.resume(returning: line) }
        }
    }

    var output: String { lock.withLock { lines.joined(separator: "\n") } }

    /// How many lines devloop has printed so far: `waitForLine(from:)` then looks only at later ones.
    var lineCount: Int { lock.withLock { lines.count } }

    /// The first line from line number `from` on that satisfies `predicate`, if one came yet.
    func line(from first: Int, where predicate: (String) -> Bool) -> String? {
        lock.withLock { lines.dropFirst(first).first(where: predicate) }
    }

    /// The first line from line number `from` on (seen before or after this call) that satisfies
    /// `predicate`; fails the test after `timeout`.
    @discardableResult
    func waitForLine(
        _ what: String, timeout: Duration = .seconds(90), from first: Int = 0,
        where predicate: @escaping @Sendable (String) -> Bool
    ) async throws -> String {
        let id = UUID()
        let found: String? = await withCheckedContinuation { continuation in
            lock.withLock {
                if let line = lines.dropFirst(first).first(where: predicate) {
                    continuation.resume(returning: line)
                } else if ended {
                    continuation.resume(returning: nil)
                } else {
                    waiters.append((id, predicate, continuation))
                    DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(Int(timeout.components.seconds))) {
                        [self] in expire(id)
                    }
                }
            }
        }
        guard let found else {
            Issue.record("devloop never printed \(what); its output:\n\(output)")
            throw CancellationError()
        }
        return found
    }

    /// When the first line from line number `from` on that satisfies `predicate` was read, waiting
    /// for it as `waitForLine` does.
    func arrival(
        _ what: String, timeout: Duration = .seconds(90), from first: Int = 0,
        where predicate: @escaping @Sendable (String) -> Bool
    ) async throws -> ContinuousClock.Instant {
        try await waitForLine(what, timeout: timeout, from: first, where: predicate)
        return lock.withLock {
            let index = lines.indices.dropFirst(first).first { predicate(lines[$0]) }!
            return arrivals[index]
        }
    }

    private func expire(_ id: UUID) {
        lock.withLock {
            guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
            waiters.remove(at: index).continuation.resume(returning: nil)
        }
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// The exit status, waiting (bounded) for the process to end; kills it when it does not.
    func exitStatus(within timeout: Duration = .seconds(60)) async -> Int32? {
        guard await exited.wait(timeout: timeout) != nil else {
            kill(process.processIdentifier, SIGKILL)
            _ = await exited.wait(timeout: .seconds(10))
            return nil
        }
        return process.terminationStatus
    }

    /// Runs devloop to the end (a command such as `down` or `status`): status and output.
    static func run(
        _ arguments: [String], directory: String, kubeconfig: String? = nil,
        environment: [String: String?] = [:], executable: String = DevLoopProcess.binary,
        timeout: Duration = .seconds(90)
    ) async throws -> (status: Int32?, output: String) {
        let process = try DevLoopProcess(
            arguments, directory: directory, kubeconfig: kubeconfig, environment: environment, executable: executable)
        let status = await process.exitStatus(within: timeout)
        await process.waitForEnd()
        return (status, process.output)
    }

    /// Waits (bounded) until all output has been read.
    func waitForEnd() async {
        _ = await readerEnded.wait(timeout: .seconds(10))
    }
}

/// Processes whose command line mentions `text` (a test's temporary folder): pods and kubesims left behind.
func processes(mentioning text: String) -> [String] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> String? in
        guard Int32(entry) != nil, Int32(entry) != getpid(),
            let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty
        else { return nil }
        let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        return line.contains(text) ? "\(entry): \(line)" : nil
    }
}

/// One HTTP/1.0 GET to 127.0.0.1:port on a dispatch queue (blocking socket calls stay off the pool):
/// status code and body, or nil when the connection failed.
func httpGet(port: UInt16, path: String = "/", timeout: Int = 10) async -> (status: Int, body: String)? {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(returning: blockingGet(port: port, path: path, timeout: timeout))
        }
    }
}

/// The same, blocking the calling thread.
func blockingGet(port: UInt16, path: String, timeout: Int) -> (status: Int, body: String)? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var limit = timeval(tv_sec: timeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return nil }
    let request = "GET \(path) HTTP/1.0\r\nHost: localhost\r\n\r\n"
    guard request.withCString({ send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }) > 0 else { return nil }
    var response = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while response.count < 1 << 20 {
        let count = recv(fd, &buffer, buffer.count, 0)
        if count <= 0 { break }
        response.append(contentsOf: buffer[..<count])
    }
    let text = String(decoding: response, as: UTF8.self)
    guard text.hasPrefix("HTTP/"), let code = Int(text.split(separator: " ").dropFirst().first ?? "") else {
        return nil
    }
    let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    return (code, body)
}

/// A free TCP port on 127.0.0.1 (bound, read, released) for a test's forward.
func freePort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return UInt16(bigEndian: address.sin_port)
}
