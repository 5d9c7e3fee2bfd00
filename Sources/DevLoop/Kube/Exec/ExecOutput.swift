import Foundation

/// An exec's stdout as the caller parses it (a listing, hashes, a build log): kept whole up to `limit`,
/// past which the exec ends with `KubeClientError.execOutputTooLarge`. A cut listing would read as
/// files gone missing, so it is never handed on truncated.
struct BoundedOutput {
    let limit: Int
    private(set) var data = Data()

    init(limit: Int) {
        self.limit = limit
    }

    /// False once `payload` would take the output past the limit (nothing more is kept then).
    mutating func append(_ payload: Data.SubSequence) -> Bool {
        guard data.count + payload.count <= limit else { return false }
        data.append(contentsOf: payload)
        return true
    }
}

/// An exec's stderr as error messages quote it: the last `limit` bytes, where a failing command puts its
/// reason; what came before is counted and dropped, so a command that floods stderr holds memory flat
/// and still reports its exit status.
struct OutputTail {
    let limit: Int
    private var buffer = Data()
    private(set) var dropped = 0

    init(limit: Int) {
        self.limit = limit
    }

    mutating func append(_ payload: Data.SubSequence) {
        buffer.append(contentsOf: payload.suffix(limit))
        dropped += max(0, payload.count - limit)
        // Trimmed in steps of `limit`, not per message: each trim copies the tail.
        if buffer.count > 2 * limit {
            let excess = buffer.count - limit
            dropped += excess
            buffer = Data(buffer.suffix(limit))
        }
    }

    var data: Data {
        guard buffer.count > limit else { return buffer }
        return Data(buffer.suffix(limit))
    }

    var droppedBytes: Int { dropped + max(0, buffer.count - limit) }
}
