import Foundation

extension URL {
    /// The host as it goes into a Host header or a libcurl CONNECT_TO entry: an IPv6 literal in
    /// brackets (`[::1]`), which `host` leaves out.
    var bracketedHost: String? {
        host.map(URL.bracketed)
    }

    static func bracketed(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }
}
