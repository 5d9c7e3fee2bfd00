import Foundation
import Synchronization

/// Idle easy handles kept for the next request: each keeps its connection cache, so consecutive
/// requests to the API server reuse a kept-alive TLS connection instead of a new handshake.
final class CurlHandlePool: Sendable {
    private let idle = Mutex<[CurlEasy]>([])
    private let capacity: Int

    init(capacity: Int = 8) {
        self.capacity = capacity
    }

    func take() -> CurlEasy {
        idle.withLock { $0.popLast() } ?? CurlEasy()
    }

    /// Returns a handle whose transfer finished cleanly; others are dropped (closing their connection).
    func give(_ easy: CurlEasy) {
        easy.reset()
        idle.withLock { handles in
            if handles.count < capacity { handles.append(easy) }
        }
    }
}
