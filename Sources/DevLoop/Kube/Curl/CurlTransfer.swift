import CCurl
import CCurlShim
import Foundation
import Synchronization

/// One HTTP transfer driven by its handle's multi handle on its own thread, reporting the response head
/// once and the body chunk by chunk. A chunk the consumer has no room for pauses the transfer
/// (CURL_WRITEFUNC_PAUSE: libcurl keeps the chunk and stops reading the socket, so the server's
/// writes back up); `resume()` and `cancel()` wake the loop with curl_multi_wakeup, and the loop itself
/// unpauses or aborts, since libcurl wants that done by the thread that drives the transfer.
final class CurlTransfer: @unchecked Sendable {
    private let easy: CurlEasy
    private let onHead: @Sendable (Int, [String: String]) -> Void
    private let onChunk: @Sendable (Data) -> Bool
    private let control = Mutex(Control())
    // Touched only by the transfer thread (inside the callbacks).
    private var status = 0
    private var headers: [String: String] = [:]
    private var headDelivered = false

    private struct Control {
        var cancelled = false
        var resumeRequested = false
        /// The multi handle while the transfer runs, for wake-ups from other threads.
        var multi: MultiHandle?
    }

    /// curl_multi_wakeup is the one multi call that is safe from any thread.
    private struct MultiHandle: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
    }

    /// `onChunk` returns false when it has no room for the chunk: the transfer then pauses until `resume()`.
    init(
        easy: CurlEasy, onHead: @escaping @Sendable (Int, [String: String]) -> Void,
        onChunk: @escaping @Sendable (Data) -> Bool
    ) {
        self.easy = easy
        self.onHead = onHead
        self.onChunk = onChunk
    }

    func cancel() {
        control.withLock { control in
            control.cancelled = true
            if let multi = control.multi { curl_multi_wakeup(multi.pointer) }
        }
    }

    /// The consumer has room again: the transfer thread unpauses.
    func resume() {
        control.withLock { control in
            control.resumeRequested = true
            if let multi = control.multi { curl_multi_wakeup(multi.pointer) }
        }
    }

    var isCancelled: Bool { control.withLock { $0.cancelled } }

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
        let code = withExtendedLifetime(self) { drive() }
        if code != CURLE_OK {
            return isCancelled
                ? CurlError(code: Int(CURLE_ABORTED_BY_CALLBACK.rawValue), detail: "cancelled")
                : easy.error(for: code)
        }
        deliverHead()
        return nil
    }

    /// curl_easy_perform, but with room to unpause and to abort between waits.
    private func drive() -> CURLcode {
        let multi = easy.multi
        guard curl_multi_add_handle(multi, easy.handle) == CURLM_OK else { return CURLE_FAILED_INIT }
        control.withLock { $0.multi = MultiHandle(pointer: multi) }
        defer {
            control.withLock { $0.multi = nil }
            curl_multi_remove_handle(multi, easy.handle)
        }
        while true {
            var running: Int32 = 0
            guard curl_multi_perform(multi, &running) == CURLM_OK else { return CURLE_FAILED_INIT }
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                if message.pointee.msg == CURLMSG_DONE { return message.pointee.data.result }
            }
            let (cancelled, resume) = control.withLock { control in
                defer { control.resumeRequested = false }
                return (control.cancelled, control.resumeRequested)
            }
            if cancelled { return CURLE_ABORTED_BY_CALLBACK }
            if resume {
                // Delivers the held chunk again (to the write callback) and reads on.
                _ = curl_easy_pause(easy.handle, CURLPAUSE_CONT)
                continue
            }
            // libcurl shortens the wait to its own next timer; wake-ups cut it short.
            _ = curl_multi_poll(multi, nil, 0, 30_000, nil)
        }
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

    fileprivate enum BodyOutcome { case taken, full, cancelled }

    fileprivate func body(_ data: Data) -> BodyOutcome {
        guard !isCancelled else { return .cancelled }
        deliverHead()
        return onChunk(data) ? .taken : .full
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
    switch transfer.body(Data(bytes: data, count: length)) {
    case .taken: return length
    case .full: return Int(CURL_WRITEFUNC_PAUSE)
    case .cancelled: return 0
    }
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
