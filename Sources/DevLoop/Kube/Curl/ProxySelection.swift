import Foundation

/// Which proxy a connection to the API server goes through, chosen as client-go does: the cluster's
/// `proxy-url` when set, else Go's http.ProxyFromEnvironment (HTTPS_PROXY / HTTP_PROXY minus NO_PROXY,
/// and never for localhost or a loopback address, which libcurl's own environment handling would proxy).
struct ProxySelection: Sendable {
    var environment: [String: String]

    static func fromProcess() -> ProxySelection {
        ProxySelection(environment: ProcessInfo.processInfo.environment)
    }

    /// The proxy URL for `url`, or nil for a direct connection.
    func proxy(for url: URL, configured: String?) -> String? {
        if let configured, !configured.isEmpty { return configured }
        guard let host = url.host.map(Self.unbracketed)?.lowercased(), !host.isEmpty else { return nil }
        let variables = url.scheme == "http" ? ["HTTP_PROXY", "http_proxy"] : ["HTTPS_PROXY", "https_proxy"]
        guard let proxy = first(variables), !proxy.isEmpty else { return nil }
        if host == "localhost" || Self.isLoopback(host) { return nil }
        let port = url.port ?? (url.scheme == "http" ? 80 : 443)
        let exclusions = (first(["NO_PROXY", "no_proxy"]) ?? "").split(separator: ",")
        for entry in exclusions.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !entry.isEmpty {
            if entry == "*" || Self.matches(entry, host: host, port: port) { return nil }
        }
        return proxy
    }

    private func first(_ names: [String]) -> String? {
        names.lazy.compactMap { environment[$0] }.first
    }

    /// One NO_PROXY entry, as golang.org/x/net/http/httpproxy reads it: a CIDR, an IP, or a domain
    /// (with or without a leading dot, matching its subdomains), each with an optional port.
    static func matches(_ entry: String, host: String, port: Int) -> Bool {
        if entry.contains("/") { return CIDR(entry)?.contains(host) ?? false }
        var name = entry
        var entryPort: Int?
        if let colon = entry.lastIndex(of: ":"), !entry.hasSuffix("]"), entry.filter({ $0 == ":" }).count == 1 {
            name = String(entry[..<colon])
            entryPort = Int(entry[entry.index(after: colon)...])
        }
        name = unbracketed(name)
        if let entryPort, entryPort != port { return false }
        if name.hasPrefix("*.") { name.removeFirst() }
        // ".example.com" (and "*.example.com") match subdomains only, "example.com" the domain too.
        if name.hasPrefix(".") { return host.hasSuffix(name) }
        return host == name || host.hasSuffix("." + name)
    }

    static func isLoopback(_ host: String) -> Bool {
        if let v4 = IPAddress.v4(host) { return v4[0] == 127 }
        guard let v6 = IPAddress.v6(host) else { return false }
        // ::1, or an IPv4-mapped 127/8 address (::ffff:127.0.0.1), as Go's net.IP.IsLoopback.
        return v6 == [UInt8](repeating: 0, count: 15) + [1]
            || (Array(v6.prefix(12)) == [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] && v6[12] == 127)
    }

    static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }
}

/// An address block of NO_PROXY ("10.0.0.0/8", "fd00::/8").
struct CIDR {
    let network: [UInt8]
    let bits: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, let bits = Int(parts[1]),
            let network = IPAddress.v4(parts[0]) ?? IPAddress.v6(parts[0]), bits >= 0, bits <= network.count * 8
        else { return nil }
        self.network = network
        self.bits = bits
    }

    func contains(_ host: String) -> Bool {
        guard let address = IPAddress.v4(host) ?? IPAddress.v6(host), address.count == network.count else {
            return false
        }
        for bit in 0..<bits where (address[bit / 8] ^ network[bit / 8]) & UInt8(0x80 >> (bit % 8)) != 0 {
            return false
        }
        return true
    }
}

enum IPAddress {
    static func v4(_ text: String) -> [UInt8]? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    static func v6(_ text: String) -> [UInt8]? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }
}
