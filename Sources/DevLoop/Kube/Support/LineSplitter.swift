import Foundation

/// Cuts a byte stream into lines: watch events and log lines arrive in chunks that split lines anywhere.
struct LineSplitter {
    private var pending = Data()
    /// How much of `pending` is known to hold no newline: a long line arriving in many chunks is
    /// scanned once, not once per chunk.
    private var searched = 0

    /// The complete lines in `chunk` (plus what was pending), without their line terminators.
    mutating func push(_ chunk: Data) -> [Data] {
        let from = pending.startIndex + searched
        pending.append(chunk)
        var lines: [Data] = []
        var start = pending.startIndex
        var scan = from
        while let newline = pending[scan...].firstIndex(of: UInt8(ascii: "\n")) {
            var line = pending[start..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            lines.append(Data(line))
            start = pending.index(after: newline)
            scan = start
        }
        if start != pending.startIndex { pending = Data(pending[start...]) }
        searched = pending.count
        return lines
    }

    /// What is left when the stream ends without a final newline.
    mutating func finish() -> Data? {
        defer {
            pending = Data()
            searched = 0
        }
        return pending.isEmpty ? nil : pending
    }
}
