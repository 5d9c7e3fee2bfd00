import CCurl
import CCurlShim
import Foundation
import Synchronization

/// `HTTPTransport` over libcurl: one thread per transfer (its multi loop blocks), handles pooled for
/// keep-alive, bodies streamed as they arrive (a bounded buffer: a reader that stops pauses the
/// transfer), Swift task cancellation aborting the transfer.
public final class CurlHTTPClient: HTTPTransport {
    private let pool = CurlHandlePool()
    /// How much of a response body may wait for a reader that does not read (`devloop logs | less`)
    /// before the transfer pauses; it goes on once the reader has taken all but the low watermark.
    static let bodyHighWatermark = 512 * 1024
    static let bodyLowWatermark = 128 * 1024

    public init() {}

    public func stream(_ request: HTTPRequest, tls: TLSSettings) async throws -> HTTPStreamResponse {
        let easy = pool.take()
        try configure(easy, request, tls: tls)
        let body = BoundedBuffer<Data>(high: Self.bodyHighWatermark, low: Self.bodyLowWatermark, cost: \.count)
        let head = HeadSlot()
        let transfer = CurlTransfer(
            easy: easy,
            onHead: { status, headers in head.resolve(.success((status, headers))) },
            onChunk: { body.offer($0) })
        // Weak: the transfer holds the buffer (its chunks go there); the thread holds the transfer while it runs.
        body.onResume { [weak transfer] in transfer?.resume() }
        body.onAbandon { [weak transfer] in transfer?.cancel() }
        let pool = self.pool
        let thread = Thread {
            let failure = transfer.perform()
            if let failure {
                head.resolve(.failure(failure))
                body.finish(throwing: failure)
            } else {
                pool.give(easy)
                body.finish()
            }
        }
        thread.name = "devloop-curl"
        thread.start()
        let (status, headers) = try await withTaskCancellationHandler {
            try await head.value()
        } onCancel: {
            transfer.cancel()
        }
        return HTTPStreamResponse(status: status, headers: headers, body: body.stream())
    }

    private func configure(_ easy: CurlEasy, _ request: HTTPRequest, tls: TLSSettings) throws {
        try easy.configureConnection(url: request.url, tls: tls)
        if let timeout = request.timeout { try easy.set(CURLOPT_TIMEOUT_MS, Int(timeout * 1000)) }
        try easy.set(CURLOPT_ACCEPT_ENCODING, "")
        switch request.method {
        case "GET": try easy.set(CURLOPT_HTTPGET, 1)
        case "HEAD": try easy.set(CURLOPT_NOBODY, 1)
        default: try easy.set(CURLOPT_CUSTOMREQUEST, request.method)
        }
        if let body = request.body {
            try easy.set(CURLOPT_POSTFIELDSIZE_LARGE, body.count)
            try easy.set(CURLOPT_COPYPOSTFIELDS, blobString: body)
        }
        // "Expect: 100-continue" costs a round trip per large body; the API server does not need it.
        var headers = ["Expect:"]
        headers += request.headers.map { "\($0.key): \($0.value)" }
        try easy.setHeaders(headers)
    }
}

extension CurlEasy {
    /// COPYPOSTFIELDS takes a char*: libcurl copies POSTFIELDSIZE bytes, so binary bodies are fine.
    fileprivate func set(_ option: CURLoption, blobString data: Data) throws {
        var bytes = [UInt8](data)
        if bytes.isEmpty { bytes = [0] }
        try bytes.withUnsafeMutableBytes { try set(option, pointer: $0.baseAddress) }
    }
}

/// The response head, delivered once from the transfer thread to the awaiting task.
private final class HeadSlot: Sendable {
    typealias Head = (Int, [String: String])
    private let state = Mutex<(result: Result<Head, Error>?, waiter: CheckedContinuation<Head, Error>?)>((nil, nil))

    func resolve(_ result: Result<Head, Error>) {
        let waiter: CheckedContinuation<Head, Error>? = state.withLock { state in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> Head {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<Head, Error>? = state.withLock { state in
                if state.result == nil { state.waiter = continuation }
                return state.result
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
