import Foundation
import Glibc
import Testing

@testable import DevLoop

@Suite struct WatcherTests {
    /// More events than the kernel queue holds, in one burst while the watcher is held back: the
    /// queue overflows, the watcher rescans, and the destination still converges.
    @Test func queueOverflowFallsBackToRescan() async throws {
        let limit = WatchBudget.limit(of: "max_queued_events") ?? 16_384
        let dir = TempDir("devloop-overflow")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        writeFile(source + "/seed.txt", "seed")
        writeFile(source + "/same-size.txt", "before")
        let engine = SyncEngine(
            options: SyncOptions(source: source, destination: destination),
            transport: HostPathTransport(source: source, destination: destination))
        try await engine.start()
        let watcher = try #require(await engine.watcherForTesting)
        // Each file makes three events (create, modify, close): well past the queue's limit.
        let files = limit / 2 + 1_000
        for d in 0...(files / 1_000) { mkdir(source + "/d\(d)", 0o755) }
        await engine.settle()
        watcher.readGate.withLock {
            for i in 0..<files {
                writeFile(source + "/d\(i / 1_000)/f\(i)", "content \(i)")
            }
            unlink(source + "/seed.txt")
            // Same size, most likely the same mtime tick: only the racy-stamp rule can see it.
            writeFile(source + "/same-size.txt", "after!")
        }
        await engine.settle()
        #expect(watcher.rescans >= 1, "the queue of \(limit) events did not overflow")
        let expected = TreeSnapshot(source, expected: true)
        let actual = TreeSnapshot(destination)
        #expect(expected.items.count == files + files / 1_000 + 2, "files in the tree")
        #expect(expected == actual, "\(expected.diff(against: actual))")
        await engine.stop()
    }

    /// Directories created, moved in or renamed get watches, and so do their subdirectories.
    @Test func watchesFollowDirectories() async throws {
        let dir = TempDir("devloop-watch")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        let engine = SyncEngine(
            options: SyncOptions(source: source, destination: destination),
            transport: HostPathTransport(source: source, destination: destination))
        try await engine.start()
        try FileManager.default.createDirectory(atPath: source + "/a/b/c", withIntermediateDirectories: true)
        writeFile(source + "/a/b/c/one", "1")
        await engine.settle()
        rename(source + "/a", source + "/renamed")
        writeFile(source + "/renamed/b/c/two", "2")
        mkdir(dir.path + "/outside", 0o755)
        mkdir(dir.path + "/outside/in", 0o755)
        rename(dir.path + "/outside", source + "/renamed/b/moved")
        await engine.settle()
        writeFile(source + "/renamed/b/moved/in/three", "3")
        rename(source + "/renamed/b", dir.path + "/gone")
        writeFile(dir.path + "/gone/after", "not synced")
        await engine.settle()
        #expect(await engine.watchCount == 2)
        let expected = TreeSnapshot(source, expected: true)
        #expect(expected == TreeSnapshot(destination), "\(expected.diff(against: TreeSnapshot(destination)))")
        await engine.stop()
    }

    @Test func budgetMessageNamesTheSysctl() {
        #expect(throws: WatchError.self) { try WatchBudget.check(directories: 200_000, limit: 8_192) }
        let message = WatchError.watchBudget(needed: 200_000, limit: 8_192).description
        #expect(message.contains("200000 directories"))
        #expect(message.contains("sudo sysctl fs.inotify.max_user_watches=524288"))
        let enospc = WatchError.from(errno: ENOSPC, operation: "inotify_add_watch")
        #expect(enospc.description.contains("sudo sysctl fs.inotify.max_user_watches="))
        let emfile = WatchError.from(errno: EMFILE, operation: "inotify_init1")
        #expect(emfile.description.contains("sudo sysctl fs.inotify.max_user_instances="))
        #expect(throws: Never.self) { try WatchBudget.check(directories: 10, limit: 8_192) }
    }

    /// The watcher thread blocks in poll(): it uses no CPU while nothing changes.
    @Test func idleWatcherUsesNoCPU() async throws {
        let dir = TempDir("devloop-idle")
        defer { dir.remove() }
        let source = dir.sub("src")
        let watcher = try TreeWatcher(root: source) { _ in }
        try await watcher.start()
        try await Task.sleep(for: .milliseconds(50))
        let thread = try #require(watcher.threadID, "the watcher thread did not report its id")
        let before = try #require(Self.threadCPUTicks(thread), "no /proc/self/task/\(thread)/stat")
        try await Task.sleep(for: .milliseconds(600))
        let after = try #require(Self.threadCPUTicks(thread))
        await watcher.stop()
        #expect(after - before == 0, "watcher used \(after - before) clock ticks while idle")
    }

    /// utime + stime of one thread of this process, in clock ticks.
    static func threadCPUTicks(_ thread: Int) -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/self/task/\(thread)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }
}
