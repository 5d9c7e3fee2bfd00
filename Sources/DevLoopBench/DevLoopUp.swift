import Foundation
import Glibc

/// `devloop up` run as a user runs it (the binary beside this one), its output read line by line on a
/// thread of its own so that the bench awaits a line instead of sleeping.
final class DevLoopUp: @unchecked Sendable {
    static var binary: String { BenchPaths.executableFolder.appendingPathComponent("devloop").path }

    private let process = Process()
    private let lock = NSLock()
    private var lines: [String] = []
    private var waiters: [(id: UUID, predicate: (String) -> Bool, continuation: CheckedContinuation<String?, Never>)] =
        []
    private var ended = false
    private let exited = DispatchSemaphore(value: 0)

    init(config: String, directory: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw BenchError(
                "no devloop beside this bench at \(Self.binary): build both products alike (-c release or debug)")
        }
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["up", "--config", config, "--sim"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = directory
        environment["KUBECONFIG"] = nil
        environment["NO_COLOR"] = "1"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.terminationHandler = { [exited] _ in exited.signal() }
        try process.run()
        Thread { [self] in read(output.fileHandleForReading) }.start()
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
        lock.withLock {
            ended = true
            for waiter in waiters { waiter.continuation.resume(returning: nil) }
            waiters = []
        }
    }

    private func deliver(_ line: String) {
        lock.withLock {
            lines.append(line)
            // Bounded: the bench needs the last few hundred lines at most.
            if lines.count > 2_000 { lines.removeFirst(1_000) }
            let ready = waiters.filter { $0.predicate(line) }
            waiters.removeAll { $0.predicate(line) }
            for waiter in ready { waiter.continuation.resume(returning: line) }
        }
    }

    var output: String { lock.withLock { lines.suffix(40).joined(separator: "\n") } }

    /// The first line since the last `forget()` (seen before or after this call) that satisfies
    /// `predicate`, within `timeout`.
    @discardableResult
    func waitForLine(
        _ what: String, timeout: Duration = .seconds(120), where predicate: @escaping @Sendable (String) -> Bool
    ) async throws -> String {
        let id = UUID()
        let found: String? = await withCheckedContinuation { continuation in
            lock.withLock {
                if let line = lines.first(where: predicate) {
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
        guard let found else { throw BenchError("devloop up never printed \(what); its output:\n\(output)") }
        return found
    }

    /// Forgets the lines seen so far: the next wait sees only what comes after.
    func forget() { lock.withLock { lines = [] } }

    private func expire(_ id: UUID) {
        lock.withLock {
            guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
            waiters.remove(at: index).continuation.resume(returning: nil)
        }
    }

    /// Ctrl-C, then the exit status (bounded; killed when it does not end).
    func stop() async -> Int32? {
        kill(process.processIdentifier, SIGINT)
        return try? await Probe.run { [self] in
            if exited.wait(timeout: .now() + 60) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                _ = exited.wait(timeout: .now() + 10)
                return nil
            }
            return process.terminationStatus
        }
    }
}

enum BenchPaths {
    static var executableFolder: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// The repository this bench was built from (its Package.swift and dev/supervisor.sh): above the
    /// built binary (.build/debug/ or .build/release/), else above the working folder.
    static func repository() throws -> URL {
        for start in [executableFolder, URL(fileURLWithPath: FileManager.default.currentDirectoryPath)] {
            var folder = start
            for _ in 0..<6 {
                let files = FileManager.default
                if files.fileExists(atPath: folder.appendingPathComponent("dev/supervisor.sh").path),
                    files.fileExists(atPath: folder.appendingPathComponent("Package.swift").path)
                {
                    return folder
                }
                folder = folder.deletingLastPathComponent()
            }
        }
        throw BenchError(
            "no repository (dev/supervisor.sh, Package.swift) above \(executableFolder.path) or the working folder")
    }

    static func supervisor() throws -> URL { try repository().appendingPathComponent("dev/supervisor.sh") }
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
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
