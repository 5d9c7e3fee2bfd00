import CCurl
import CCurlShim
import Foundation

/// `HTTPTransport` over libcurl: one thread per transfer (curl_easy_perform blocks), handles pooled for
/// keep-alive, bodies streamed as they arrive, Swift task cancellation aborting the transfer.
public final class CurlHTTPClient: HTTPTransport {
    private let pool = CurlHandlePool()

    public init() {}

    public func stream(_ request: HTTPRequest, tls: TLSSettings) async throws -> HTTPStreamResponse {
        let easy = pool.take()
        try configure(easy, request, tls: tls)
        let (body, bodyContinuation) = AsyncThrowingStream.makeStream(of: Data.self, throwing: Error.self)
        let head = HeadSlot()
        let transfer = CurlTransfer(
            easy: easy,
            onHead: { status, headers in head.resolve(.success((status, headers))) },
            onChunk: { bodyContinuation.yield($0) })
        bodyContinuation.onTermination = { termination in
            if case .cancelled = termination { transfer.cancel() }
        }
        let pool = self.pool
        let thread = Thread {
            let failure = transfer.perform()
            if let failure {
                head.resolve(.failure(failure))
                bodyContinuation.finish(throwing: failure)
            } else {
                pool.give(easy)
                bodyContinuation.finish()
            }
        }
        thread.name = "devloop-curl"
        thread.start()
        let (status, headers) = try await withTaskCancellationHandler {
            try await head.value()
        } onCancel: {
            transfer.cancel()
        }
        return HTTPStreamResponse(status: status, headers: headers, body: body)
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
    private let state = Locked<(result: Result<Head, Error>?, waiter: CheckedContinuation<Head, Error>?)>((nil, nil))

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
