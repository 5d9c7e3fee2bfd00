import Foundation
import Logging

/// Everything the app reads from its environment (12-factor: no config files, no flags).
///
/// | variable | default | meaning |
/// | --- | --- | --- |
/// | `HOST` | `0.0.0.0` | address to bind (a container needs all interfaces) |
/// | `PORT` | `5000` | port to listen on (`0`: any free port) |
/// | `DATABASE_URL` | unset | `postgres://…`; unset: SQLite file `webapp.sqlite` in `DATA_DIR` |
/// | `DATA_DIR` | `./data` | folder of the SQLite file, created when missing |
/// | `LOG_LEVEL` | `info` | trace, debug, info, notice, warning, error, critical |
/// | `MIGRATE_ON_START` | `0` | `1`: apply pending migrations before serving |
/// | `TEMPLATES_DIR` | see `TemplateLocator` | folder of the `.mustache` files |
/// | `TEMPLATES_RELOAD` | `0` | `1`: re-read a template when it changes on disk |
public struct AppConfig: Sendable, Equatable {
    public enum Database: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(PostgresURL)
    }

    public var host = "0.0.0.0"
    public var port = 5000
    public var database: Database = .sqlite(path: "./data/webapp.sqlite")
    public var logLevel: Logger.Level = .info
    public var migrateOnStart = false
    public var templatesDirectory: String?
    public var templatesReload = false
    /// How long `/ready` waits for the database: below the readiness probe's own timeout (1 s by
    /// default in Kubernetes, the dev and prod manifests give 3 s).
    public var readinessTimeout: Duration = .seconds(2)

    public init() {}

    /// Reads the configuration from `environment`; an invalid value is an error naming its variable.
    public init(environment: [String: String]) throws(ConfigError) {
        func value(_ name: String) -> String? {
            environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        if let host = value("HOST") { self.host = host }
        if let port = value("PORT") {
            guard let number = Int(port), (0...65535).contains(number) else {
                throw ConfigError(variable: "PORT", message: "'\(port)' is not a port number (0-65535)")
            }
            self.port = number
        }
        if let url = value("DATABASE_URL") {
            database = .postgres(try PostgresURL(url))
        } else {
            let folder = value("DATA_DIR") ?? "./data"
            database = .sqlite(path: (folder.hasSuffix("/") ? folder : folder + "/") + "webapp.sqlite")
        }
        if let level = value("LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigError(variable: "LOG_LEVEL", message: "'\(level)' is not one of \(names)")
            }
            logLevel = parsed
        }
        migrateOnStart = try Self.flag("MIGRATE_ON_START", value("MIGRATE_ON_START"))
        templatesReload = try Self.flag("TEMPLATES_RELOAD", value("TEMPLATES_RELOAD"))
        templatesDirectory = value("TEMPLATES_DIR")
    }

    private static func flag(_ name: String, _ value: String?) throws(ConfigError) -> Bool {
        switch value?.lowercased() {
        case nil, "0", "false", "no": return false
        case "1", "true", "yes": return true
        case let other?: throw ConfigError(variable: name, message: "'\(other)' is not 1 or 0")
        }
    }
}

/// A bad environment variable: the message names it.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public var variable: String
    public var message: String

    public var description: String { "\(variable): \(message)" }
}
