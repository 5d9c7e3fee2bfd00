import Foundation
import Logging
import WebAppCore

// `WebApp` serves; `WebApp migrate` applies pending migrations and exits. Configuration comes from the
// environment only (see AppConfig).
let usage = """
    usage: WebApp            serve on $HOST:$PORT (default 0.0.0.0:5000)
           WebApp migrate    apply pending database migrations, then exit
    environment: HOST PORT DATABASE_URL DATA_DIR LOG_LEVEL MIGRATE_ON_START TEMPLATES_DIR TEMPLATES_RELOAD
    """

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("WebApp: \(message)\n".utf8))
    exit(status)
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["--help"] || arguments == ["-h"] || arguments == ["help"] {
    print(usage)
    exit(0)
}
guard arguments.isEmpty || arguments == ["migrate"] else {
    fail("unknown arguments \(arguments)\n\(usage)", status: 64)
}

let config: AppConfig
do {
    config = try AppConfig(environment: ProcessInfo.processInfo.environment)
} catch {
    fail("\(error)", status: 78)
}
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardOutput(label: label)
    handler.logLevel = config.logLevel
    return handler
}
var logger = Logger(label: "WebApp")
logger.logLevel = config.logLevel

do {
    if arguments == ["migrate"] {
        let applied = try await WebAppServer.migrate(config, logger: logger)
        logger.info("migrate: \(applied.isEmpty ? "database is up to date" : "applied versions \(applied)")")
    } else {
        try await WebAppServer.serve(config, logger: logger)
    }
} catch {
    fail("\(error)", status: 1)
}
