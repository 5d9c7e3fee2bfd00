import Foundation
import Testing

@testable import DevLoop

/// An exec credential plugin that never answers (a login helper stuck on the network) fails the
/// request at its deadline, and is killed rather than left behind.
@Suite struct ExecPluginDeadlineTests {
    @Test(.timeLimit(.minutes(1))) func aHungPluginFailsAtItsDeadlineAndIsKilled() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pidFile = folder.url.path + "/plugin.pid"
        let entry = JSONValue.object([
            "command": .string("sh"),
            "args": .array([.string("-c"), .string("echo $$ > \(pidFile); exec sleep 30")]),
            "interactiveMode": .string("Never"),
        ])
        var plugin = ExecCredentialPlugin(
            config: try ExecPluginConfig(
                entry, file: "kubeconfig", field: "users[0].user.exec", directory: folder.url.path),
            server: URL(string: "https://127.0.0.1:6443")!, tls: TLSSettings())
        plugin.deadline = .seconds(1)
        let started = ContinuousClock.now
        let error = await #expect(throws: KubeClientError.self) { try await plugin.run() }
        let took = started.duration(to: .now)
        #expect(took < .seconds(10), "the plugin with a 1 s deadline took \(took)")
        #expect("\(error.map { "\($0)" } ?? "")".contains("did not finish within"))
        let pid = try #require(
            Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        // Killed and reaped by the time run() threw: the process no longer exists.
        #expect(kill(pid, 0) != 0 && errno == ESRCH, "the plugin (pid \(pid)) is still running")
    }
}
