import Testing
import WebAppCore

@Suite struct ConfigTests {
    @Test func defaults() throws {
        let config = try AppConfig(environment: [:])
        #expect(config.host == "0.0.0.0")
        #expect(config.port == 5000)
        #expect(config.database == .sqlite(path: "./data/webapp.sqlite"))
        #expect(config.logLevel == .info)
        #expect(!config.migrateOnStart && !config.templatesReload)
        #expect(config.templatesDirectory == nil)
    }

    @Test func everyVariable() throws {
        let config = try AppConfig(environment: [
            "HOST": "127.0.0.1", "PORT": "8080", "DATA_DIR": "/var/lib/webapp", "LOG_LEVEL": "DEBUG",
            "MIGRATE_ON_START": "1", "TEMPLATES_RELOAD": "true", "TEMPLATES_DIR": "/srv/templates",
        ])
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 8080)
        #expect(config.database == .sqlite(path: "/var/lib/webapp/webapp.sqlite"))
        #expect(config.logLevel == .debug)
        #expect(config.migrateOnStart && config.templatesReload)
        #expect(config.templatesDirectory == "/srv/templates")
    }

    @Test func postgresURL() throws {
        let config = try AppConfig(environment: [
            "DATABASE_URL": "postgresql://web%20app:p%40ss:w0rd@db.internal:6543/todo?sslmode=disable"
        ])
        guard case .postgres(let url) = config.database else {
            Issue.record("expected PostgreSQL, got \(config.database)")
            return
        }
        #expect(url.host == "db.internal" && url.port == 6543 && url.database == "todo")
        #expect(url.user == "web app" && url.password == "p@ss:w0rd")
        #expect(url.tls == .disable)
        #expect(!url.description.contains("w0rd"))
        #expect(try PostgresURL("postgres://u@h/d").port == 5432)
        #expect(try PostgresURL("postgres://u@h/d").tls == .prefer)
        #expect(try PostgresURL("postgres://u@h/d?sslmode=verify-full").tls == .require)
    }

    @Test(arguments: [
        ("PORT", "http"), ("PORT", "70000"), ("PORT", "-1"), ("LOG_LEVEL", "verbose"),
        ("MIGRATE_ON_START", "maybe"), ("TEMPLATES_RELOAD", "2"),
        ("DATABASE_URL", "mysql://root:hunter2@db/app"), ("DATABASE_URL", "postgres://:hunter2@/app"),
        ("DATABASE_URL", "postgres://u:hunter2@h/d?sslmode=sometimes"),
    ])
    func invalidValuesNameTheirVariable(variable: String, value: String) {
        #expect {
            try AppConfig(environment: [variable: value])
        } throws: { error in
            let error = error as? ConfigError
            return error?.variable == variable && error?.description.hasPrefix("\(variable): ") == true
                && error?.description.contains("hunter2") == false
        }
    }
}
