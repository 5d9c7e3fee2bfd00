import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Asks a forwarded local port for an HTTP answer, to time "save → serving again". The blocking socket
/// calls run on a dispatch queue of their own, never on the cooperative pool.
enum ServingProbe {
    private static let queue = DispatchQueue(label: "devloop-serving-probe")

    /// Waits (bounded by `timeout`) until `GET /` on address:port answers with any HTTP status line.
    static func waitUntilServing(address: String, port: UInt16, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !Task.isCancelled {
            let remaining = deadline - ContinuousClock.now
            let seconds = max(1, Int(remaining.components.seconds))
            if await once(address: address, port: port, seconds: seconds) { return true }
            // The forward already waits for a ready pod; a refusal means the server is between builds.
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    private static func once(address: String, port: UInt16, seconds: Int) async -> Bool {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: request(address: address, port: port, seconds: seconds)) }
        }
    }

    private static func request(address: String, port: UInt16, seconds: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = port.bigEndian
        target.sin_addr.s_addr = inet_addr(address == "0.0.0.0" ? "127.0.0.1" : address)
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return false }
        let request = "GET / HTTP/1.0\r\nHost: localhost\r\nUser-Agent: devloop-probe\r\n\r\n"
        guard request.withCString({ send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }) > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count >= 5 && String(decoding: buffer.prefix(5), as: UTF8.self) == "HTTP/"
    }
}
