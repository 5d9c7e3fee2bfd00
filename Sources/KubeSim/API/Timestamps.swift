import Foundation

enum Timestamps {
    /// RFC 3339 with seconds, as Kubernetes writes `metav1.Time`.
    static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(
            text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// `kubectl`'s short ages: 5s, 3m20s, 2d4h (k8s.io/apimachinery/pkg/util/duration.HumanDuration).
    static func humanDuration(_ seconds: Int) -> String {
        let seconds = max(0, seconds)
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 {
            let rest = seconds % 60
            return rest == 0 ? "\(minutes)m" : "\(minutes)m\(rest)s"
        }
        if minutes < 180 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 {
            let rest = minutes % 60
            return rest == 0 ? "\(hours)h" : "\(hours)h\(rest)m"
        }
        if hours < 48 { return "\(hours)h" }
        let days = hours / 24
        if days < 8 {
            let rest = hours % 24
            return rest == 0 ? "\(days)d" : "\(days)d\(rest)h"
        }
        if days < 365 * 2 { return "\(days)d" }
        return "\(days / 365)y"
    }

    static func age(of object: JSON, now: Date = Date()) -> String {
        guard let text = object[path: ["metadata", "creationTimestamp"]]?.stringValue, let created = parse(text) else {
            return "<unknown>"
        }
        return humanDuration(Int(now.timeIntervalSince(created)))
    }
}
