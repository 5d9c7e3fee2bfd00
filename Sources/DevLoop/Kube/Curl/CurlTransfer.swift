import CCurl
import CCurlShim
import Foundation

/// One HTTP transfer run by `curl_easy_perform` on its own thread, reporting the response head once and
/// the body chunk by chunk. Cancellation sets a flag that the write and progress callbacks turn into an abort.
final class CurlTransfer: @unchecked Sendable {
    private let easy: CurlEasy
    private let onHead: @Sendable (Int, [String: String]) -> Void
    private let onChunk: @Sendable (Data) -> Void
    private let cancelled = Locked(false)
    // Touched only by the transfer thread (inside the callbacks).
    private var status = 0
    private var headers: [String: String] = [:]
    private var headDelivered = false

    init(
        easy: CurlEasy, onHead: @escaping @Sendable (Int, [String: String]) -> Void,
        onChunk: @escaping @Sendable (Data) -> Void
    ) {
        self.easy = easy
        self.onHead = onHead
        self.onChunk = onChunk
    }

    func cancel() {
        cancelled.withLock { $0 = true }
    }

    var isCancelled: Bool { cancelled.current }

    /// Blocks until the transfer ends; nil on success.
    func perform() -> CurlError? {
        let context = Unmanaged.passUnretained(self).toOpaque()
        do {
            try easy.set(CURLOPT_WRITEDATA, pointer: context)
            try easy.set(CURLOPT_HEADERDATA, pointer: context)
            try easy.set(CURLOPT_XFERINFODATA, pointer: context)
            try easy.set(CURLOPT_NOPROGRESS, 0)
            _ = devloop_curl_setopt_write_function(easy.handle, curlTransferWrite)
            _ = devloop_curl_setopt_header_function(easy.handle, curlTransferHeader)
            _ = devloop_curl_setopt_xferinfo_function(easy.handle, curlTransferProgress)
        } catch {
            return error as? CurlError
        }
        let code = withExtendedLifetime(self) { curl_easy_perform(easy.handle) }
        if code != CURLE_OK {
            return cancelled.current
                ? CurlError(code: Int(CURLE_ABORTED_BY_CALLBACK.rawValue), detail: "cancelled")
                : easy.error(for: code)
        }
        deliverHead()
        return nil
    }

    fileprivate func header(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            // A new status line (after 100 Continue or a redirect) starts a new header block.
            status = Int(trimmed.split(separator: " ").dropFirst().first ?? "") ?? 0
            headers = [:]
        } else if trimmed.isEmpty, status >= 200 {
            // The head is complete: a watch or a log follow with nothing to send yet must not wait for
            // its first chunk (a resumed watch of a quiet namespace would look dead for 30 s, until
            // the first bookmark). 1xx heads are followed by the real one.
            deliverHead()
        } else if let colon = trimmed.firstIndex(of: ":") {
            let name = trimmed[..<colon].lowercased()
            headers[name] = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }

    fileprivate func body(_ data: Data) -> Bool {
        guard !cancelled.current else { return false }
        deliverHead()
        onChunk(data)
        return true
    }

    private func deliverHead() {
        guard !headDelivered else { return }
        headDelivered = true
        onHead(status == 0 ? easy.responseCode : status, headers)
    }
}

private let curlTransferWrite: devloop_curl_data_callback = { data, size, count, context in
    guard let data, let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    return transfer.body(Data(bytes: data, count: length)) ? length : 0
}

private let curlTransferHeader: devloop_curl_data_callback = { data, size, count, context in
    guard let data, let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    transfer.header(line)
    return length
}

private let curlTransferProgress: devloop_curl_progress_callback = { context, _, _, _, _ in
    guard let context else { return 0 }
    return Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue().isCancelled ? 1 : 0
}
