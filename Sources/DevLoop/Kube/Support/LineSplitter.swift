import Foundation

/// Cuts a byte stream into lines: watch events and log lines arrive in chunks that split lines anywhere.
struct LineSplitter {
    private var pending = Data()

    /// The complete lines in `chunk` (plus what was pending), without their line terminators.
    mutating func push(_ chunk: Data) -> [Data] {
        pending.append(chunk)
        var lines: [Data] = []
        var start = pending.startIndex
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            var line = pending[start..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            lines.append(Data(line))
            start = pending.index(after: newline)
        }
        pending = Data(pending[start...])
        return lines
    }

    /// What is left when the stream ends without a final newline.
    mutating func finish() -> Data? {
        defer { pending = Data() }
        return pending.isEmpty ? nil : pending
    }
}
