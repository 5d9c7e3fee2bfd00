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
