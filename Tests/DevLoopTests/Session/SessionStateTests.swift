import Foundation
import Testing

@testable import DevLoop

@Suite struct SessionStateTests {
    /// One session per config: a second acquire is refused with the holder's pid; a released lock
    /// (or one whose process died: the kernel drops flock locks) is taken over.
    @Test func theSessionLockRefusesASecondSessionAndIsReleased() throws {
        let dir = TempDir("devloop-lock")
        defer { dir.remove() }
        let lock = try SessionLock.acquire(root: dir.path, config: "c.yaml")
        #expect(SessionLock.runningSession(root: dir.path) == getpid())
        #expect(throws: SessionError.self) { try SessionLock.acquire(root: dir.path, config: "c.yaml") }
        lock.release()
        #expect(SessionLock.runningSession(root: dir.path) == nil)
        let again = try SessionLock.acquire(root: dir.path, config: "c.yaml")
        again.release()
    }

    @Test func restartPathsMatchGitignoreStyle() {
        let matcher = RestartMatcher(patterns: ["*.swift", "/Package.swift"])
        #expect(matcher.touches(["Sources/App/main.swift"]))
        #expect(matcher.touches(["Package.swift"]))
        #expect(!matcher.touches(["Templates/index.mustache", "public/style.css"]))
    }

    @Test func theStateFileHoldsNoCredentials() throws {
        let dir = TempDir("devloop-state")
        defer { dir.remove() }
        var state = SessionState(pid: 42, config: "/p/devloop.yaml", namespace: "dev")
        state.cluster = ClusterSummary(kind: "kubeconfig", kubeconfig: "/k", context: "c", server: "https://x")
        try state.write(root: dir.path)
        #expect(SessionState.read(root: dir.path)?.cluster == state.cluster)
        #expect(SessionState.read(root: dir.path)?.pid == 42)
        let text = try String(contentsOfFile: dir.path + "/.devloop/session.json", encoding: .utf8)
        #expect(!text.lowercased().contains("token") && !text.contains("BEGIN"))
    }
}
