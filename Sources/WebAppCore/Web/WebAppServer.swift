import Foundation
import Hummingbird
import Logging
import NIOCore

/// Puts the app together from its configuration: the store, the templates, the router, the server.
public enum WebAppServer {
    /// Request bodies above this size are refused with 413 before they are read.
    public static let maxBodyBytes = 64 * 1024

    /// The store `config` asks for; SQLite creates its data folder when missing.
    public static func makeStore(_ config: AppConfig, logger: Logger) async throws -> any TodoStore {
        switch config.database {
        case .sqlite(let path):
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            logger.info("storage: SQLite file \(path)")
            return try await SQLiteTodoStore.open(path: path, logger: logger)
        case .postgres(let url):
            logger.info("storage: PostgreSQL \(url)")
            return PostgresTodoStore(url: url, logger: logger)
        }
    }

    public static func makeRenderer(_ config: AppConfig, logger: Logger) async throws -> TemplateRenderer {
        let directory = TemplateLocator.directory(configured: config.templatesDirectory, reload: config.templatesReload)
        logger.info("templates: \(directory)\(config.templatesReload ? " (reloaded when changed)" : "")")
        return try await TemplateRenderer(directory: directory, reload: config.templatesReload)
    }

    public static func makeRouter(
        store: any TodoStore, renderer: TemplateRenderer, logger: Logger, readinessTimeout: Duration = .seconds(2)
    ) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let body = RequestBodyDecoder(maxBytes: maxBodyBytes)
        router.add(middleware: RequestLogMiddleware(logger: logger))
        HealthRoutes(store: store, databaseTimeout: readinessTimeout).add(to: router)
        TodoAPI(store: store, body: body).add(to: router)
        PageRoutes(store: store, renderer: renderer, body: body).add(to: router)
        return router
    }

    /// The application: the store runs as a service of it, so SIGTERM first stops the server (in-flight
    /// requests finish), then closes the database. `onListening` receives the bound port.
    public static func makeApplication(
        config: AppConfig,
        store: any TodoStore,
        renderer: TemplateRenderer,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        var app = Application(
            router: makeRouter(
                store: store, renderer: renderer, logger: logger, readinessTimeout: config.readinessTimeout),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "WebApp"),
            services: [store],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? config.port
                logger.info("WebApp listening on http://\(config.host):\(port)")
                await onListening(port)
            },
            logger: logger
        )
        if config.migrateOnStart {
            app.beforeServerStarts {
                try await waitForDatabase(store)
                let applied = try await store.migrate()
                logger.info("migrations applied at start: \(applied.isEmpty ? "none pending" : "\(applied)")")
            }
        } else {
            app.beforeServerStarts {
                // Say at start what /ready will say, without holding the server back for a slow database.
                do {
                    let pending = try await withTimeout(.seconds(5)) { try await PendingMigrations.of(store) }
                    if !pending.isEmpty { logger.warning("not ready: \(pending)") }
                } catch {
                    logger.warning("could not check the database's migrations at start: \(error)")
                }
            }
        }
        return app
    }

    /// `WebApp`: serves until SIGTERM or SIGINT.
    public static func serve(_ config: AppConfig, logger: Logger) async throws {
        let store = try await makeStore(config, logger: logger)
        let renderer = try await makeRenderer(config, logger: logger)
        let app = makeApplication(config: config, store: store, renderer: renderer, logger: logger)
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        logger.info("WebApp stopped")
    }

    /// `WebApp migrate`: applies pending migrations and returns their versions.
    public static func migrate(_ config: AppConfig, logger: Logger) async throws -> [Int] {
        let store = try await makeStore(config, logger: logger)
        return try await store.withRunning {
            try await waitForDatabase(store)
            return try await store.migrate()
        }
    }

    /// A connection pool retries a database that does not answer forever; a migration gives up instead,
    /// with a message, so a wrong DATABASE_URL does not look like a hang.
    static func waitForDatabase(_ store: any TodoStore, timeout: Duration = .seconds(30)) async throws {
        do {
            try await withTimeout(timeout) { try await store.ping() }
        } catch is TimeoutError {
            throw StoreError.unreachable("the database did not answer within \(timeout)")
        }
    }
}
