import CCurl
import CCurlShim
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
    /// Raised when the task that opens the stream is cancelled: waits give up within `cancelSlice`.
    let cancelled: CancellationFlag
    private static let readSize = 256 * 1024
    private static let cancelSlice: TimeInterval = 0.1
    private let readBuffer = UnsafeMutableRawPointer.allocate(byteCount: readSize, alignment: 8)

    private init(easy: CurlEasy, socket: Int32, cancelled: CancellationFlag) {
        self.easy = easy
        self.socket = socket
        self.cancelled = cancelled
    }

    deinit {
        readBuffer.deallocate()
    }

    /// Connects (TCP, TLS with the cluster's trust and client certificate) without sending a request.
    /// `cancelled` aborts the connect (libcurl's progress callback) and every later wait.
    static func connect(
        url: URL, tls: TLSSettings, timeout: TimeInterval, cancelled: CancellationFlag = CancellationFlag()
    ) throws -> CurlSocket {
        let easy = CurlEasy()
        try easy.configureConnection(url: url, tls: tls, connectTimeout: timeout)
        try easy.set(CURLOPT_CONNECT_ONLY, 1)
        // The flag outlives the handle's use of it: the socket returned (or this frame) holds both.
        try easy.set(CURLOPT_XFERINFODATA, pointer: Unmanaged.passUnretained(cancelled).toOpaque())
        try easy.set(CURLOPT_NOPROGRESS, 0)
        _ = devloop_curl_setopt_xferinfo_function(easy.handle, curlSocketProgress)
        let code = withExtendedLifetime(cancelled) { curl_easy_perform(easy.handle) }
        try cancelled.check()
        guard code == CURLE_OK else { throw easy.error(for: code) }
        guard let socket = easy.activeSocket else {
            throw CurlError(code: -1, detail: "libcurl gave no socket for the stream connection")
        }
        return CurlSocket(easy: easy, socket: socket, cancelled: cancelled)
    }

    func read() throws -> ReadResult {
        var received = 0
        let code = curl_easy_recv(easy.handle, readBuffer, Self.readSize, &received)
        switch code {
        case CURLE_OK: return received == 0 ? .closed : .data(Data(bytes: readBuffer, count: received))
        case CURLE_AGAIN: return .wouldBlock
        default: throw easy.error(for: code)
        }
    }

    /// Writes what it can of `bytes`; true when all of it is out.
    func write(_ bytes: PinnedBytes) throws -> Bool {
        var sent = 0
        let code = curl_easy_send(easy.handle, bytes.storage.baseAddress! + bytes.offset, bytes.remaining, &sent)
        switch code {
        case CURLE_OK: bytes.offset += sent
        case CURLE_AGAIN: break
        default: throw easy.error(for: code)
        }
        return bytes.remaining == 0
    }

    func writeAll(_ data: Data, deadline: Date) throws {
        let bytes = PinnedBytes(data)
        while try !write(bytes) { try wait(events: Int16(POLLOUT), until: deadline) }
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
        try cancelled.check()
        let remaining = deadline.timeIntervalSinceNow
        guard remaining > 0 else { throw CurlError(code: 28, detail: "the stream connection timed out") }
        var descriptor = pollfd(fd: socket, events: events, revents: 0)
        _ = poll(&descriptor, 1, Int32(min(remaining, Self.cancelSlice) * 1000))
    }
}

private let curlSocketProgress: devloop_curl_progress_callback = { context, _, _, _, _ in
    guard let context else { return 0 }
    return Unmanaged<CancellationFlag>.fromOpaque(context).takeUnretainedValue().isRaised ? 1 : 0
}

/// Bytes on their way out. OpenSSL requires a write retried after "would block" to pass the same
/// address and length again, so the bytes stay in one fixed allocation until all are sent.
final class PinnedBytes {
    let storage: UnsafeMutableRawBufferPointer
    let count: Int
    var offset = 0

    init(_ data: Data) {
        count = data.count
        storage = .allocate(byteCount: max(data.count, 1), alignment: 1)
        data.copyBytes(to: storage.bindMemory(to: UInt8.self), count: data.count)
    }

    deinit {
        storage.deallocate()
    }

    var remaining: Int { count - offset }
}
