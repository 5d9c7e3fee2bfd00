import Foundation
import Glibc

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Blocking socket measurements of an HTTP/1.1 server behind a forward, each run on a thread of its
/// own (never on the cooperative pool). Every read is bounded by the socket's receive timeout.
enum Probe {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    static func connect(port: UInt16, timeout: Int = 60) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw BenchError("connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) throws {
        let sent = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        guard sent == text.utf8.count else { throw BenchError("send failed: errno \(errno)") }
    }

    /// Reads one 200 response with a Content-Length body; returns the body (only its first
    /// `keep` bytes are kept, the rest is counted) and its length.
    static func readResponse(_ fd: Int32, keep: Int = 4_096) throws -> (body: [UInt8], length: Int) {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var head: [UInt8] = []
        var kept: [UInt8] = []
        var received = 0
        var length: Int?
        while true {
            if let length, received >= length { return (kept, received) }
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { throw BenchError("the response ended early (errno \(errno))") }
            if length != nil {
                received += count
                if kept.count < keep { kept += buffer[0..<Swift.min(count, keep - kept.count)] }
                continue
            }
            head += buffer[0..<count]
            guard let end = headEnd(head) else {
                guard head.count < 65_536 else { throw BenchError("no end of the response head") }
                continue
            }
            let text = String(decoding: head[..<end], as: UTF8.self).lowercased()
            guard text.hasPrefix("http/1.1 200") || text.hasPrefix("http/1.0 200") else {
                throw BenchError("unexpected response: \(text.prefix(200))")
            }
            let value =
                text.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }?
                .split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0
            length = value
            let body = head[(end + 4)...]
            received = body.count
            kept = Array(body.prefix(keep))
        }
    }

    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// One request on a fresh connection: milliseconds.
    static func fresh(port: UInt16, path: String = "/small", timeout: Int = 60) throws -> Double {
        let start = ContinuousClock.now
        _ = try get(port: port, path: path, timeout: timeout)
        return milliseconds(since: start)
    }

    /// One request on a fresh connection: the body.
    static func get(port: UInt16, path: String, timeout: Int = 10) throws -> String {
        let fd = try connect(port: port, timeout: timeout)
        defer { Glibc.close(fd) }
        try send(fd, "GET \(path) HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        return String(decoding: try readResponse(fd).body, as: UTF8.self)
    }

    final class KeepAlive: @unchecked Sendable {
        let fd: Int32
        init(port: UInt16) throws { fd = try Probe.connect(port: port) }
        func request(path: String = "/small") throws -> Double {
            let start = ContinuousClock.now
            try Probe.send(fd, "GET \(path) HTTP/1.1\r\nHost: bench\r\n\r\n")
            _ = try Probe.readResponse(fd)
            return milliseconds(since: start)
        }
        func close() { Glibc.close(fd) }
    }

    /// MB/s of one download of `megabytes` MB (the server's /big?MB).
    static func download(port: UInt16, megabytes: Int) throws -> Double {
        let start = ContinuousClock.now
        let fd = try connect(port: port)
        defer { Glibc.close(fd) }
        try send(fd, "GET /big?\(megabytes) HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        let bytes = try readResponse(fd, keep: 0).length
        guard bytes == megabytes * 1_000_000 else { throw BenchError("downloaded \(bytes) bytes") }
        return Double(megabytes) / (milliseconds(since: start) / 1000)
    }

    /// Milliseconds for `count` fresh-connection requests at once, and how many of them failed
    /// (no answer within 20 s, or a broken one).
    static func concurrent(port: UInt16, count: Int) async throws -> (milliseconds: Double, failed: Int) {
        let start = ContinuousClock.now
        let failed = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<count {
                group.addTask { (try? await run { try fresh(port: port, timeout: 20) }) == nil ? 1 : 0 }
            }
            return try await group.reduce(0, +)
        }
        return (milliseconds(since: start), failed)
    }
}
