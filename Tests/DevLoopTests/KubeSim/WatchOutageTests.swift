import DevLoop
import Foundation
import KubeSim
import Synchronization
import Testing

/// A watch across an API server outage (the port refuses connections, then serves again): it reports
/// the outage once, and is back soon after the server, even when nothing changes meanwhile. The
/// client used to hand out a response head only with the first body chunk, so a resumed watch of a
/// quiet collection looked dead until the server's first bookmark (30 s).
@Suite struct WatchOutageTests {
    @Test func aQuietWatchResumesSoonAfterTheAPIServerIsBack() async throws {
        try await KubeSimFixture.run { sim in
            try await sim.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: outage}\n")
            let health = Mutex<[String]>([])
            var watcher = ResourceWatcher(client: sim.client, path: "/api/v1/namespaces/outage/configmaps")
            watcher.maximumRetryDelay = .milliseconds(1500)
            watcher.onHealth = { event in
                health.withLock {
                    switch event {
                    case .interrupted: $0.append("interrupted")
                    case .resumed: $0.append("resumed")
                    }
                }
            }
            let consumer = Task { for try await _ in watcher.events() {} }
            defer { consumer.cancel() }
            try await Task.sleep(for: .seconds(1))
            await sim.server.takeAPIServerDown()
            try await waitUntil("the outage is reported", timeout: .seconds(10)) {
                health.withLock { $0 } == ["interrupted"]
            }
            try await Task.sleep(for: .seconds(5))
            try await sim.server.bringAPIServerUp()
            let back = ContinuousClock.now
            // Well below the 30 s bookmark interval, above the 1.5 s back-off step and a loaded machine.
            try await waitUntil("the watch resumes", timeout: .seconds(10)) {
                health.withLock { $0 } == ["interrupted", "resumed"]
            }
            print("watch back \(ContinuousClock.now - back) after the API server")
        }
    }
}
