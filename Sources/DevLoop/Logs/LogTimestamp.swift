import Foundation

/// A kubelet log timestamp (RFC 3339 with up to nanoseconds). Compared numerically: the kubelet trims
/// trailing zeros of the fraction, so the strings do not sort.
struct LogTimestamp: Comparable, Hashable, Sendable {
    var seconds: Int64
    var nanoseconds: Int64
    var text: String

    /// Parses `2026-11-21T22:01:02.123456789Z` and the offset form `…+01:00` that containerd and CRI-O
    /// write on nodes whose time zone is not UTC. Compared as instants, so offsets do not matter.
    init?(_ text: String) {
        guard let parsed = RFC3339Instant(text) else { return nil }
        seconds = parsed.seconds
        nanoseconds = parsed.nanoseconds
        self.text = text
    }

    /// Whole seconds in UTC, as sinceTime takes them (metav1.Time has second precision).
    var sinceTime: String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601)
    }

    static func < (a: LogTimestamp, b: LogTimestamp) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    static func == (a: LogTimestamp, b: LogTimestamp) -> Bool {
        (a.seconds, a.nanoseconds) == (b.seconds, b.nanoseconds)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(seconds)
        hasher.combine(nanoseconds)
    }
}

/// The position reached in a container's log: the last timestamp and how many lines carried it, so a
/// resumed request (sinceTime is whole seconds) skips exactly the lines already delivered.
struct LogCursor: Sendable {
    private(set) var last: LogTimestamp?
    private var seenAtLast = 0
    private var skipAtLast = 0

    /// Called before each new request: lines at the last timestamp are about to be sent again.
    mutating func beginResume() {
        skipAtLast = seenAtLast
    }

    /// Whether a line is new; records it if so.
    mutating func accept(_ timestamp: LogTimestamp) -> Bool {
        if let last {
            if timestamp < last { return false }
            if timestamp == last {
                if skipAtLast > 0 {
                    skipAtLast -= 1
                    return false
                }
                seenAtLast += 1
                return true
            }
        }
        last = timestamp
        seenAtLast = 1
        skipAtLast = 0
        return true
    }
}
