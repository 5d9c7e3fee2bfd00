/// Which request paths the client sends: API paths are built from object names, so a character that
/// has no place in a URL path comes from a name that Kubernetes would refuse anyway.
enum RequestPath {
    /// RFC 3986 pchar without percent-encoding (names never need it) and without `%`, `?` or `#`,
    /// which would silently end the path or the segment.
    private static let allowed = Set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@".unicodeScalars)

    /// The first segment of `path` that cannot be sent as it is, or nil when the whole path can.
    static func invalidSegment(in path: String) -> String? {
        guard path.hasPrefix("/") else { return path }
        for segment in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        where !segment.unicodeScalars.allSatisfy(allowed.contains) {
            return String(segment)
        }
        return nil
    }
}
