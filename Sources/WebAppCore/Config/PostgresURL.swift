import Foundation

/// A parsed `postgres://user:password@host:port/database?sslmode=...` URL.
///
/// `sslmode`: `disable` (plain TCP, e.g. inside a cluster), `prefer` (the default: TLS when the server
/// offers it) or `require`/`verify-full` (TLS only). Whenever TLS is used the certificate is verified.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Equatable {
        case disable, prefer, require
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String?
    public var tls: TLSMode

    /// Parses `string`; errors name what is wrong but never repeat the password.
    public init(_ string: String) throws(ConfigError) {
        func invalid(_ reason: String) -> ConfigError {
            ConfigError(variable: "DATABASE_URL", message: reason)
        }
        guard let components = URLComponents(string: string) else { throw invalid("not a valid URL") }
        guard let scheme = components.scheme?.lowercased(), ["postgres", "postgresql"].contains(scheme) else {
            throw invalid("unsupported scheme (expected postgres://; leave DATABASE_URL unset for SQLite)")
        }
        guard let host = components.host, !host.isEmpty else { throw invalid("missing host") }
        guard let user = components.user, !user.isEmpty else { throw invalid("missing user name") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        let sslmode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        switch sslmode {
        case "disable": tls = .disable
        case "allow", "prefer": tls = .prefer
        case "require", "verify-ca", "verify-full": tls = .require
        default: throw invalid("sslmode '\(sslmode)' is not one of disable, prefer, require, verify-full")
        }
        self.host = host
        self.port = components.port ?? 5432
        // URLComponents has already percent-decoded user, password and path.
        self.user = user
        self.password = components.password
        self.database = database.isEmpty ? nil : database
    }

    /// The URL with the password masked, for logs.
    public var description: String {
        let secret = password == nil ? "" : ":***"
        return "postgres://\(user)\(secret)@\(host):\(port)/\(database ?? "")?sslmode=\(tls.rawValue)"
    }
}
