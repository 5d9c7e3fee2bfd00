import Foundation
import HummingbirdTesting
import Logging
import Testing
import WebAppCore

@Suite struct HealthTests {
    @Test func healthAndReadyWithAWorkingDatabase() async throws {
        try await withTestApp { client async throws in
            let health = try await client.send(.get, "/health")
            #expect(health.status == .ok)
            #expect(health.apiError?["status"] == "ok")
            let ready = try await client.send(.get, "/ready")
            #expect(ready.status == .ok, "\(ready.apiError ?? [:])")
            #expect(ready.apiError?["status"] == "ready")
        }
    }

    /// A PostgreSQL URL whose port nobody listens on: liveness stays 200, readiness turns 503 with a reason.
    @Test func readyIs503WhenTheDatabaseDoesNotAnswer() async throws {
        let port = try closedLoopbackPort()
        let url = try PostgresURL("postgres://webapp:secret@127.0.0.1:\(port)/webapp?sslmode=disable")
        let started = ContinuousClock.now
        try await withTestApp(
            store: { _ in PostgresTodoStore(url: url, logger: quietLogger("test.dead")) }, migrate: false,
            readinessTimeout: .seconds(2)
        ) {
            client in
            #expect(try await client.send(.get, "/health").status == .ok)
            let ready = try await client.send(.get, "/ready")
            #expect(ready.status == .serviceUnavailable)
            let reason = try #require(ready.apiError?["error"])
            #expect(reason.contains("database"))
            #expect(!reason.contains("secret"))
        }
        // The probe answers within its own timeout instead of hanging on the connection attempts.
        print("ready-503: answered in \(ContinuousClock.now - started)")
    }
}

/// A loopback port that was just free: bound, then closed again.
func closedLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard bound else { throw TestSetupError("cannot bind a loopback socket") }
    return Int(UInt16(bigEndian: address.sin_port))
}
