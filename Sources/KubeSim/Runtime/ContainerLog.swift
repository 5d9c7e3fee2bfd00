import Foundation
import Synchronization

/// The log of one container instance, kept as a kubelet's CRI log file
/// (`2026-11-21T20:15:00.123456789Z stdout F text`, one line per line the container wrote), served to
/// readers and followers from the file, as a kubelet does: a follower reads on when its reader asks
/// for more, so one that stops reading holds nothing but its place in the file.
final class ContainerLog: Sendable {
    let path: String
    private let state: Mutex<State>

    private struct State {
        var file: Int32
        var openStreams: Int
        /// Bumped by every line written: followers at the end of the file wait for it to change.
        var generation = 0
        var followers: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextFollower = 0
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Creates (or empties) the file at `path`; `streams` is how many captures will end it.
    init(path: String, streams: Int = 2) throws {
        let file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o640)
        guard file >= 0 else { throw RuntimeError("cannot create the log file \(path): \(errnoText())") }
        self.path = path
        self.state = Mutex(State(file: file, openStreams: streams))
    }

    /// The log a container instance of an earlier kubesim left in `path`: read, never written.
    init(finished path: String) {
        self.path = path
        self.state = Mutex(State(file: -1, openStreams: 0))
    }

    /// Reads `descriptor` (which it then owns) line by line on a thread of its own until end of file.
    func capture(_ descriptor: Int32, stream: String) {
        let thread = Thread { [self] in
            var splitter = LineSplitter()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(descriptor, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                for line in splitter.append(buffer[0..<count]) { append(line, stream: stream) }
            }
            if let rest = splitter.finish() { append(rest, stream: stream) }
            close(descriptor)
            streamEnded()
        }
        thread.name = "kubesim-log"
        thread.start()
    }

    /// Returns when every captured stream has ended (the instance and everything it started are gone).
    func drained() async {
        await withCheckedContinuation { waiter in
            let done = state.withLock { state in
                if state.openStreams == 0 { return true }
                state.drainWaiters.append(waiter)
                return false
            }
            if done { waiter.resume() }
        }
    }

    /// The lines so far; with `follow`, also the lines to come until every stream ended.
    func lines(follow: Bool) -> AsyncStream<ContainerLogLine> {
        guard follow, let tail = LogFileTail(log: self) else {
            let (stream, continuation) = AsyncStream.makeStream(of: ContainerLogLine.self)
            for line in Self.records(atPath: path) { continuation.yield(line) }
            continuation.finish()
            return stream
        }
        return AsyncStream { await tail.next() }
    }

    /// The write count now, and whether lines may still come.
    var progress: (generation: Int, open: Bool) {
        state.withLock { ($0.generation, $0.openStreams > 0) }
    }

    /// Returns once a line was written after `generation`, or the log ended, or the task is cancelled.
    func waitForLine(after generation: Int) async {
        let key = state.withLock { state in
            defer { state.nextFollower += 1 }
            return state.nextFollower
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state in
                    if state.generation != generation || state.openStreams == 0 || Task.isCancelled { return true }
                    state.followers[key] = waiter
                    return false
                }
                if ready { waiter.resume() }
            }
        } onCancel: {
            state.withLock { $0.followers.removeValue(forKey: key) }?.resume()
        }
    }

    /// Parses a CRI log file; lines that do not parse are skipped.
    static func records(atPath path: String) -> [ContainerLogLine] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap { ContainerLogLine(criLine: Array($0)) }
    }

    private func append(_ text: [UInt8], stream: String) {
        let stamp = LogTimestamp.now()
        let record = Array("\(stamp.text) \(stream) F ".utf8) + text + [UInt8(ascii: "\n")]
        let followers = state.withLock { state in
            _ = record.withUnsafeBytes { write(state.file, $0.baseAddress, $0.count) }
            state.generation += 1
            defer { state.followers = [:] }
            return state.followers.values
        }
        for follower in followers { follower.resume() }
    }

    private func streamEnded() {
        let (followers, waiters) = state.withLock { state in
            state.openStreams -= 1
            guard state.openStreams == 0 else {
                return ([CheckedContinuation<Void, Never>](), [CheckedContinuation<Void, Never>]())
            }
            close(state.file)
            defer {
                state.followers = [:]
                state.drainWaiters = []
            }
            return (Array(state.followers.values), state.drainWaiters)
        }
        for follower in followers { follower.resume() }
        for waiter in waiters { waiter.resume() }
    }
}

/// Splits a byte stream into lines; a line longer than `limit` is cut (kubelet cuts at 16 KiB and marks
/// the pieces partial; kubesim keeps whole lines up to a larger limit).
struct LineSplitter {
    var limit: Int
    private var pending: [UInt8] = []

    init(limit: Int = 1 << 20) {
        self.limit = limit
    }

    mutating func append(_ bytes: ArraySlice<UInt8>) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var rest = bytes
        while !rest.isEmpty {
            let newline = rest.firstIndex(of: UInt8(ascii: "\n"))
            let end = min(newline ?? rest.endIndex, rest.startIndex + (limit - pending.count))
            pending += rest[rest.startIndex..<end]
            if end == newline {
                rest = rest[(end + 1)...]
            } else {
                rest = rest[end...]
                guard pending.count >= limit else { break }
            }
            lines.append(pending)
            pending.removeAll(keepingCapacity: true)
        }
        return lines
    }

    mutating func finish() -> [UInt8]? {
        defer { pending = [] }
        return pending.isEmpty ? nil : pending
    }
}

extension ContainerLogLine {
    /// Parses `TIMESTAMP STREAM TAG TEXT`.
    init?(criLine bytes: [UInt8]) {
        let fields = bytes.split(separator: UInt8(ascii: " "), maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count >= 3 else { return nil }
        let timestamp = String(decoding: fields[0], as: UTF8.self)
        guard let date = LogTimestamp.parse(timestamp) else { return nil }
        let text = fields.count == 4 ? String(decoding: fields[3], as: UTF8.self) : ""
        self.init(timestamp: timestamp, date: date, stream: String(decoding: fields[1], as: UTF8.self), text: text)
    }
}

/// RFC 3339 timestamps with nine fractional digits, as `kubectl logs --timestamps` prints them.
enum LogTimestamp {
    static func now() -> (text: String, date: Date) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return (
            format(seconds: now.tv_sec, nanoseconds: now.tv_nsec), date(seconds: now.tv_sec, nanoseconds: now.tv_nsec)
        )
    }

    static func format(seconds: Int, nanoseconds: Int) -> String {
        var time = seconds
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let fraction = String(nanoseconds)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: 9 - fraction.count) + fraction + "Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (UTC, as kubelet writes it).
    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            guard range.allSatisfy({ (48...57).contains(bytes[$0]) }) else { return nil }
            return Int32(String(decoding: bytes[range], as: UTF8.self))
        }
        let separators: [(Int, Character)] = [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":")]
        guard separators.allSatisfy({ bytes[$0.0] == UInt8(ascii: $0.1.unicodeScalars.first!) }),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var nanoseconds = 0
        if bytes.count > 20 {
            let digits = 20..<(bytes.count - 1)
            guard bytes[19] == UInt8(ascii: "."), (1...9).contains(digits.count), let fraction = number(digits) else {
                return nil
            }
            nanoseconds = Int(fraction) * Int(pow(10, Double(9 - digits.count)))
        }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return date(seconds: timegm(&parts), nanoseconds: nanoseconds)
    }

    private static func date(seconds: Int, nanoseconds: Int) -> Date {
        Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1e9)
    }
}
