import Foundation

/// The small grammars of the config's values, each returning what is wrong (nil when fine), worded
/// as Kubernetes words them.
enum ConfigSyntax {
    /// A Go-style duration (`90s`, `1m30s`, `1.5h`, `250ms`).
    static func duration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [
            ("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600),
        ]
        var rest = Substring(text)
        var seconds = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", number.filter({ $0 == "." }).count <= 1, let value = Double(number)
            else { return nil }
            rest = rest.dropFirst(number.count)
            guard let unit = units.filter({ rest.hasPrefix($0.0) }).max(by: { $0.0.count < $1.0.count }) else {
                return nil
            }
            rest = rest.dropFirst(unit.0.count)
            seconds += value * unit.1
        }
        guard seconds.isFinite, seconds <= 7 * 24 * 3600 else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// RFC 1123 label: what a namespace name must be.
    static func dns1123Label(_ text: String) -> String? {
        if text.isEmpty { return "must not be empty" }
        if text.utf8.count > 63 { return "must be no more than 63 characters" }
        let valid = text.utf8.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        guard valid, isLowerAlphanumeric(text.utf8.first!), isLowerAlphanumeric(text.utf8.last!) else {
            return
                "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit"
        }
        return nil
    }

    /// A label key: `[prefix/]name`, prefix a DNS-1123 subdomain, name a qualified name.
    static func labelKey(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return "label key `\(key)` has more than one '/'" }
        if parts.count == 2 {
            let prefix = String(parts[0])
            if prefix.isEmpty || prefix.utf8.count > 253
                || !prefix.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({
                    dns1123Label(String($0)) == nil
                })
            {
                return "label key prefix `\(prefix)` must be a DNS subdomain (lowercase, like example.com)"
            }
        }
        let name = String(parts.last!)
        if name.isEmpty { return "label key `\(key)` has an empty name" }
        if let problem = qualifiedName(name) { return "label key `\(key)` \(problem)" }
        return nil
    }

    /// A label value: empty, or a qualified name of at most 63 characters.
    static func labelValue(_ value: String) -> String? {
        if value.isEmpty { return nil }
        if let problem = qualifiedName(value) { return "label value `\(value)` \(problem)" }
        return nil
    }

    private static func qualifiedName(_ text: String) -> String? {
        if text.utf8.count > 63 { return "must be no more than 63 characters" }
        let bytes = Array(text.utf8)
        let inner = bytes.allSatisfy { isAlphanumeric($0) || "-_.".utf8.contains($0) }
        guard inner, isAlphanumeric(bytes.first!), isAlphanumeric(bytes.last!) else {
            return "must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        }
        return nil
    }

    /// An IANA service name, what a named container port is.
    static func portName(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 15 else { return "a port name has 1 to 15 characters" }
        guard bytes.allSatisfy({ isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }),
            bytes.contains(where: { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }),
            bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-"), !name.contains("--")
        else {
            return "a port name is lowercase letters, digits and single '-', with at least one letter"
        }
        return nil
    }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    static func isWildcard(_ address: String) -> Bool { address == "0.0.0.0" || address == "::" }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLowerAlphanumeric(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
}
