/// Turns records into lines for a terminal: `web-x7k2p/app | text`, the prefix in a colour that stays
/// the same for a pod/container across runs (a hash of the name, not Swift's seeded Hasher).
public struct LogRecordFormatter: Sendable {
    public var colour: Bool
    public var timestamps: Bool

    public init(colour: Bool, timestamps: Bool = false) {
        self.colour = colour
        self.timestamps = timestamps
    }

    /// Colour only on a terminal and without NO_COLOR (https://no-color.org: set and not empty).
    public static func wantsColour(isTerminal: Bool, environment: [String: String]) -> Bool {
        isTerminal && (environment["NO_COLOR"] ?? "").isEmpty
    }

    /// Red, green, yellow, blue, magenta, cyan, then their bright variants.
    static let palette = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96]

    public func format(_ record: LogRecord) -> String {
        let name = Self.shortName(pod: record.pod, container: record.container)
        let prefix = colour ? "\u{1B}[\(Self.colourCode(for: name))m\(name)\u{1B}[0m" : name
        let stamp = timestamps && !record.timestamp.isEmpty ? record.timestamp + " " : ""
        return "\(prefix) | \(stamp)\(record.text)"
    }

    /// A Deployment's pod without its ReplicaSet hash (`web-5d8c9f7b6-x7k2p` → `web-x7k2p`), then the
    /// container: short, and still unique among the pods of one selector.
    public static func shortName(pod: String, container: String) -> String {
        var parts = pod.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count >= 3, let hash = parts.dropLast().last, isReplicaSetHash(hash), parts.last?.count == 5 {
            parts.remove(at: parts.count - 2)
        }
        return parts.joined(separator: "-") + "/" + container
    }

    static func isReplicaSetHash(_ part: Substring) -> Bool {
        (6...10).contains(part.count) && part.allSatisfy { $0.isLowercase || $0.isNumber }
    }

    static func colourCode(for name: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return palette[Int(hash % UInt64(palette.count))]
    }
}
