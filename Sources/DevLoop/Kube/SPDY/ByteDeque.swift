import Foundation

/// Chunks of bytes in arrival order, taken from the front in O(1) (a ring of chunks, not an array
/// shifted on every removal), with the total byte count for bounding.
struct ByteDeque {
    private var chunks: [Data?] = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 && head == chunks.count }

    mutating func append(_ chunk: Data) {
        guard !chunk.isEmpty else { return }
        chunks.append(chunk)
        count += chunk.count
    }

    /// The front chunk, or nil when empty.
    mutating func popFirst() -> Data? {
        guard head < chunks.count, let chunk = chunks[head] else { return nil }
        chunks[head] = nil
        head += 1
        count -= chunk.count
        compact()
        return chunk
    }

    /// Whole chunks from the front joined into one, up to `limit` bytes (at least one chunk).
    mutating func take(upTo limit: Int) -> Data? {
        guard var joined = popFirst() else { return nil }
        while head < chunks.count, let next = chunks[head], joined.count + next.count <= limit {
            joined.append(next)
            _ = popFirst()
        }
        return joined
    }

    private mutating func compact() {
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64 && head * 2 >= chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
    }
}
