import Foundation
import Logging
import Testing

@testable import DevLoop

/// The planner reads the local tree while it changes: these tests land a change between two of
/// its reads, the interleaving a loaded machine produces once in thousands of runs.
@Suite struct PlannerRaceTests {
    /// Seed 158 under load: a file is looked at, then its directory is deleted (`delete-tree d22`)
    /// before its parent is. The transport must not create the parents for it: the index would not
    /// know them, so the deletion that follows would leave them at the destination for good.
    @Test func parentDeletedBetweenReadsLeavesNothingBehind() async throws {
        let dir = TempDir("devloop-planner-race")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        try FileManager.default.createDirectory(atPath: source + "/d22/n17", withIntermediateDirectories: true)
        writeFile(source + "/d22/n17/f21", "f21\n")
        writeFile(source + "/kept", "kept\n")
        var logger = Logger(label: "devloop.sync.test")
        logger.logLevel = .critical
        var planner = SyncPlanner(root: source, rules: IgnoreRules(root: source), logger: logger)
        let transport = HostPathTransport(source: source, destination: destination)
        try await transport.apply(planner.plan([.path("kept")]))

        var deleted = false
        planner.localEntry = { path in
            let entry = LocalEntry.stat(path)
            if !deleted && path == source + "/d22/n17/f21" {
                deleted = true
                try? FileTree.remove(source + "/d22")
            }
            return entry
        }
        let racing = planner.plan([.attributes("d22/n17/f21")])
        #expect(deleted, "the tree was not deleted between the planner's reads")
        #expect(!racing.operations.contains { $0.path.hasPrefix("d22") }, "planned \(racing.operations)")
        try await transport.apply(racing)
        // The deletion's own events, as the watcher reports them.
        try await transport.apply(planner.plan([.path("d22/n17/f21"), .path("d22/n17"), .path("d22")]))

        let expected = TreeSnapshot(source, expected: true)
        let actual = TreeSnapshot(destination)
        #expect(expected == actual, "\(expected.diff(against: actual))")
    }

    /// Seed 19 under load: `n201` moves out of `d107` into a directory the watcher has not watched
    /// yet (so the kernel reports only its MOVED_FROM), then `d107` moves into `n201`, then `n201`
    /// moves on. All of it lands in one drain. The MOVED_TO of `d107` names `n201`'s watch, whose
    /// path must not be the one it had before it left `d107`: that made the rename
    /// `d107 -> d107/n201/d246`, which no destination can replay (EINVAL) and which corrupts the index.
    @Test func directoryMovedIntoItsFormerChildIsNotReplayedIntoItself() async throws {
        let dir = TempDir("devloop-planner-race")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        try FileManager.default.createDirectory(atPath: source + "/d107/n201", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: source + "/p", withIntermediateDirectories: true)
        writeFile(source + "/d107/kept", "kept\n")
        writeFile(source + "/d107/n201/leaf", "leaf\n")
        var logger = Logger(label: "devloop.sync.test")
        // A failing batch logs its error (the rename the destination refused).
        logger.logLevel = .error
        let engine = SyncEngine(
            options: SyncOptions(source: source, destination: destination),
            transport: HostPathTransport(source: source, destination: destination), logger: logger)
        try await engine.start()
        let watcher = try #require(await engine.watcherForTesting)
        await engine.settle()
        // Held back, the watcher reads every event below in one drain, after the tree has settled.
        watcher.readGate.withLock {
            mkdir(source + "/q", 0o755)
            rename(source + "/d107/n201", source + "/q/d2")
            rename(source + "/d107", source + "/q/d2/d246")
            rename(source + "/q/d2", source + "/p/d3")
        }
        await engine.settle()
        let (failures, error) = (await engine.failures, await engine.lastError)
        await engine.stop()
        #expect(failures == 0, "a batch failed: \(error ?? "")")
        let expected = TreeSnapshot(source, expected: true)
        let actual = TreeSnapshot(destination)
        #expect(expected == actual, "\(expected.diff(against: actual))")
    }

    /// The same drain as above, as the watcher reports it: no change names a path through the
    /// watch of a directory after it left for a place not watched.
    @Test func watcherForgetsADirectoryThatLeftBeforeLaterEventsOfTheDrain() async throws {
        let dir = TempDir("devloop-planner-race")
        defer { dir.remove() }
        let source = dir.sub("src")
        try FileManager.default.createDirectory(atPath: source + "/d107/n201", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: source + "/p", withIntermediateDirectories: true)
        let (batches, received) = AsyncStream.makeStream(of: WatchBatch.self)
        let watcher = try TreeWatcher(root: source) { received.yield($0) }
        try await watcher.start()
        watcher.readGate.withLock {
            mkdir(source + "/q", 0o755)
            rename(source + "/d107/n201", source + "/q/d2")
            rename(source + "/d107", source + "/q/d2/d246")
            rename(source + "/q/d2", source + "/p/d3")
        }
        let token = watcher.barrier()
        var changes: [WatchChange] = []
        for await batch in batches {
            changes += batch.changes
            if batch.barriers.contains(where: { $0 >= token }) { break }
        }
        await watcher.stop()
        #expect(!changes.isEmpty)
        for change in changes {
            if case .renamed(let from, let to) = change {
                #expect(!to.hasPrefix(from + "/"), "rename into its own subtree in \(changes)")
            }
        }
        #expect(changes.contains(.tree("p/d3")), "\(changes)")
    }

    /// A rename into the renamed entry's own subtree (a stale watch path) is looked at as state.
    @Test func renameIntoItsOwnSubtreeIsNotReplayed() {
        var planner = SyncPlanner(
            root: "/nonexistent", rules: IgnoreRules(root: "/nonexistent"), logger: Logger(label: "test"))
        let directory = LocalEntry(kind: .directory, mode: 0o755, size: 0, mtimeNanoseconds: 0, inode: 1)
        planner.index.set("d107", directory)
        planner.index.set("d107/n201", directory)
        let batch = planner.plan([.renamed(from: "d107", to: "d107/n201/d246")])
        #expect(!batch.operations.contains { if case .rename = $0 { true } else { false } }, "\(batch.operations)")
        #expect(batch.operations == [.delete("d107")])
    }

    /// Seed 112 under load: `d224/n68` moved up to `d244`, then `d224`'s ancestor moved below
    /// `d244`. A drain ended between the two events of the first rename, and its rewatch read
    /// `d224` at its final place (and shipped that tree): the MOVED_FROM that followed was named
    /// through that later path, making the rename `d244/n75/d250/n68 -> d244`. Replayed, the
    /// destination refuses it (ENOTEMPTY), and replacing the target removes the source (ENOENT).
    @Test func renameOntoItsOwnAncestorConvergesAsState() async throws {
        let dir = TempDir("devloop-planner-race")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        try FileManager.default.createDirectory(
            atPath: source + "/d244/n75/d250/n68", withIntermediateDirectories: true)
        writeFile(source + "/d244/n75/d250/n68/leaf", "leaf\n")
        writeFile(source + "/d244/kept", "kept\n")
        var planner = SyncPlanner(root: source, rules: IgnoreRules(root: source), logger: Logger(label: "test"))
        let transport = HostPathTransport(source: source, destination: destination)
        try await transport.apply(planner.planFullWalk())

        try FileTree.remove(source + "/d244/n75/d250/n68")
        writeFile(source + "/d244/added", "added\n")
        let batch = planner.plan([.renamed(from: "d244/n75/d250/n68", to: "d244"), .path("d244/added")])
        #expect(!batch.operations.contains { if case .rename = $0 { true } else { false } }, "\(batch.operations)")
        try await transport.apply(batch)

        let expected = TreeSnapshot(source, expected: true)
        let actual = TreeSnapshot(destination)
        #expect(expected == actual, "\(expected.diff(against: actual))")
    }

    /// The same stale rename, as the index alone sees it: both paths are looked at as state.
    @Test func renameOntoItsOwnAncestorIsNotReplayed() {
        var planner = SyncPlanner(
            root: "/nonexistent", rules: IgnoreRules(root: "/nonexistent"), logger: Logger(label: "test"))
        let directory = LocalEntry(kind: .directory, mode: 0o755, size: 0, mtimeNanoseconds: 0, inode: 1)
        planner.index.set("d244", directory)
        planner.index.set("d244/n75", directory)
        planner.index.set("d244/n75/n68", directory)
        let batch = planner.plan([.renamed(from: "d244/n75/n68", to: "d244")])
        #expect(batch.operations == [.delete("d244")])
    }

    /// The index knows a directory only through entries below it: deleting it still deletes it.
    @Test func directoryKnownOnlyByItsChildrenIsDeleted() async throws {
        let dir = TempDir("devloop-planner-race")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        try FileManager.default.createDirectory(atPath: destination + "/gone/sub", withIntermediateDirectories: true)
        var planner = SyncPlanner(root: source, rules: IgnoreRules(root: source), logger: Logger(label: "test"))
        planner.index.set("gone/sub", LocalEntry(kind: .directory, mode: 0o755, size: 0, mtimeNanoseconds: 0, inode: 0))
        let batch = planner.plan([.path("gone")])
        #expect(batch.operations == [.delete("gone")])
        try await HostPathTransport(source: source, destination: destination).apply(batch)
        #expect(LocalEntry.stat(destination + "/gone") == nil)
    }
}
