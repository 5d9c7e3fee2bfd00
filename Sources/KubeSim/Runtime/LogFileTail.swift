import Foundation

/// A follower of one container log: reads the file from its start, a block at a time as its reader
/// asks for lines, and waits at the end of the file for the next line or the end of the log. Memory
/// stays one block and its lines however far behind the reader is.
final class LogFileTail: @unchecked Sendable {
    // Touched by the one task that iterates the stream (AsyncStream calls `next` one at a time).
    private let log: ContainerLog
    private let file: Int32
    private var offset: off_t = 0
    private var splitter = LineSplitter()
    private var ready: [ContainerLogLine] = []
    private var readyIndex = 0
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init?(log: ContainerLog) {
        let file = open(log.path, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { return nil }
        self.log = log
        self.file = file
    }

    deinit {
        close(file)
    }

    func next() async -> ContainerLogLine? {
        while true {
            if readyIndex < ready.count {
                defer { readyIndex += 1 }
                return ready[readyIndex]
            }
            // Taken before the read: a line written after it wakes the wait below.
            let (generation, open) = log.progress
            if readBlock() { continue }
            if !open || Task.isCancelled { return nil }
            await log.waitForLine(after: generation)
        }
    }

    /// Parses the next block of the file into `ready`; false at the end of the file.
    private func readBlock() -> Bool {
        let count = buffer.withUnsafeMutableBytes { pread(file, $0.baseAddress, $0.count, offset) }
        guard count > 0 else { return false }
        offset += off_t(count)
        // A line is written whole by one write(); a read may still end inside it: the splitter keeps the rest.
        ready = splitter.append(buffer[0..<count]).compactMap { ContainerLogLine(criLine: $0) }
        readyIndex = 0
        return true
    }
}
