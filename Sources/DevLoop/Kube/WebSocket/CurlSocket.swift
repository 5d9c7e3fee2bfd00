import CCurl
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A raw connection opened by libcurl with CONNECT_ONLY (TCP + TLS done by libcurl), read and written
/// with curl_easy_recv/send. recv is always tried before poll: OpenSSL may hold decrypted bytes that
/// poll cannot see.
final class CurlSocket: @unchecked Sendable {
    enum ReadResult {
        case data(Data)
        case wouldBlock
        case closed
    }

    let easy: CurlEasy
    let socket: Int32

    private init(easy: CurlEasy, socket: Int32) {
        self.easy = easy
        self.socket = socket
    }

    /// Connects (TCP, TLS with the cluster's trust and client certificate) without sending a request.
    static func connect(url: URL, tls: TLSSettings, timeout: TimeInterval) throws -> CurlSocket {
        let easy = CurlEasy()
        try easy.configureConnection(url: url, tls: tls, connectTimeout: timeout)
        try easy.set(CURLOPT_CONNECT_ONLY, 1)
        let code = curl_easy_perform(easy.handle)
        guard code == CCurl.CURLE_OK else { throw easy.error(for: code) }
        guard let socket = easy.activeSocket else {
            throw CurlError(code: -1, detail: "libcurl gave no socket for the stream connection")
        }
        return CurlSocket(easy: easy, socket: socket)
    }

    func read(maximum: Int = 65536) throws -> ReadResult {
        var buffer = [UInt8](repeating: 0, count: maximum)
        var received = 0
        let code = buffer.withUnsafeMutableBytes { curl_easy_recv(easy.handle, $0.baseAddress, maximum, &received) }
        switch code {
        case CCurl.CURLE_OK: return received == 0 ? .closed : .data(Data(buffer[0..<received]))
        case CCurl.CURLE_AGAIN: return .wouldBlock
        default: throw easy.error(for: code)
        }
    }

    /// Writes what it can; returns how many bytes went out (0 when the socket is full).
    func write(_ data: Data) throws -> Int {
        var sent = 0
        let code = data.withUnsafeBytes { curl_easy_send(easy.handle, $0.baseAddress, $0.count, &sent) }
        switch code {
        case CCurl.CURLE_OK: return sent
        case CCurl.CURLE_AGAIN: return 0
        default: throw easy.error(for: code)
        }
    }

    func writeAll(_ data: Data, deadline: Date) throws {
        var rest = data
        while !rest.isEmpty {
            let sent = try write(rest)
            rest = rest.dropFirst(sent)
            if sent == 0 { try wait(events: Int16(POLLOUT), until: deadline) }
        }
    }

    /// Blocks until some bytes arrive (or the peer closes), up to the deadline.
    func readSome(deadline: Date) throws -> Data? {
        while true {
            switch try read() {
            case .data(let data): return data
            case .closed: return nil
            case .wouldBlock: try wait(events: Int16(POLLIN), until: deadline)
            }
        }
    }

    private func wait(events: Int16, until deadline: Date) throws {
        let remaining = deadline.timeIntervalSinceNow
        guard remaining > 0 else { throw CurlError(code: 28, detail: "the stream connection timed out") }
        var descriptor = pollfd(fd: socket, events: events, revents: 0)
        _ = poll(&descriptor, 1, Int32(min(remaining, 1) * 1000))
    }
}
