import Foundation
import Glibc
import Logging
import Synchronization
import Testing

@testable import DevLoop

@Suite struct TransportTests {
    /// Long names (pax), long link targets, modes and mtimes survive GNU tar and busybox tar.
    @Test(arguments: ["gnu", "busybox"]) func tarArchivesExtract(tool: String) async throws {
        let dir = TempDir("devloop-tar")
        defer { dir.remove() }
        let executor: LocalProcessExecutor
        if tool == "busybox" {
            executor = try #require(LocalProcessExecutor.busybox(in: dir), "busybox is not installed")
        } else {
            executor = LocalProcessExecutor()
        }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        let longDir = String(repeating: "d", count: 90) + "/" + String(repeating: "e", count: 90)
        try FileManager.default.createDirectory(atPath: source + "/" + longDir, withIntermediateDirectories: true)
        let longFile = longDir + "/" + String(repeating: "f", count: 120) + ".txt"
        writeFile(source + "/" + longFile, "long\n", mode: 0o755)
        writeFile(source + "/short.txt", "short\n")
        chmod(source + "/short.txt", 0o600)
        symlink(longFile, source + "/link")
        let transport = ExecTarTransport(source: source, destination: destination, executor: executor)
        try await transport.apply(
            SyncBatch([
                .directory("ddd", mode: 0o750), .file(longFile, mode: 0o755), .file("short.txt", mode: 0o600),
                .symlink("link", target: longFile),
            ]))
        #expect(FileManager.default.contents(atPath: destination + "/" + longFile) == Data("long\n".utf8))
        #expect(LocalEntry.stat(destination + "/" + longFile)?.mode == 0o755)
        #expect(LocalEntry.stat(destination + "/short.txt")?.mode == 0o600)
        #expect(LocalEntry.readLink(destination + "/link") == longFile)
        let listing = try await transport.listDestination()
        #expect(listing["short.txt"]?.size == 6)
        #expect(listing["short.txt"]?.mtimeSeconds == ExecTarTransport.mtime(source + "/short.txt"))
        let hashes = try await transport.hashes(of: ["short.txt"])
        #expect(hashes["short.txt"] == FileDigest.hexDigest(of: Array("short\n".utf8)))
        // Deletes and renames go in the same exec as the archive.
        try await transport.apply(SyncBatch([.rename(from: "short.txt", to: "new/renamed.txt"), .delete("link")]))
        #expect(FileManager.default.fileExists(atPath: destination + "/new/renamed.txt"))
        #expect(!FileManager.default.fileExists(atPath: destination + "/short.txt"))
        #expect(LocalEntry.stat(destination + "/link") == nil)
    }

    @Test func sha256MatchesKnownDigests() {
        #expect(
            FileDigest.hexDigest(of: [UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            FileDigest.hexDigest(of: Array("abc".utf8))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(FileDigest.hexDigest(of: million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// The destination lost a directory behind the engine's back (the pod deleted it), then it is
    /// renamed locally: the rename cannot be replayed, so its target ships as new in the same
    /// batch, without a failed batch and the reconcile that follows one.
    @Test func renameWhoseSourceTheDestinationLostShipsTheTarget() async throws {
        let dir = TempDir("devloop-transport")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        try FileManager.default.createDirectory(atPath: source + "/a/sub", withIntermediateDirectories: true)
        writeFile(source + "/a/x", "x\n")
        writeFile(source + "/a/sub/y", "y\n")
        // Old stamps: files written just now are re-shipped as racy, which would hide the loss.
        for path in ["a/x", "a/sub/y"] {
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: source + "/" + path)
        }
        var logger = Logger(label: "devloop.sync.test")
        logger.logLevel = .critical
        let engine = SyncEngine(
            options: SyncOptions(source: source, destination: destination),
            transport: HostPathTransport(source: source, destination: destination), logger: logger)
        try await engine.start()
        await engine.settle()
        #expect(LocalEntry.stat(destination + "/a/sub/y") != nil)
        try FileTree.remove(destination + "/a")
        rename(source + "/a", source + "/b")
        await engine.settle()
        let (failures, error) = (await engine.failures, await engine.lastError)
        await engine.stop()
        #expect(failures == 0, "a batch failed: \(error ?? "")")
        let expected = TreeSnapshot(source, expected: true)
        let actual = TreeSnapshot(destination)
        #expect(expected == actual, "\(expected.diff(against: actual))")
    }

    @Test func hostPathRefusesToLeaveTheRoot() async throws {
        let dir = TempDir("devloop-safety")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        writeFile(source + "/f", "x")
        let transport = HostPathTransport(source: source, destination: destination)
        for path in ["../escape", "a/../../escape", "/etc/passwd", "", "a//b", "./f"] {
            await #expect(throws: SyncTransportError.self) {
                try await transport.apply(SyncBatch([.file(path, mode: 0o644)]))
            }
        }
        // A symlink the pod put in the destination does not lead writes outside.
        symlink(dir.sub("elsewhere"), destination + "/sneaky")
        await #expect(throws: SyncTransportError.self) {
            try await transport.apply(SyncBatch([.file("sneaky/f", mode: 0o644)]))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/elsewhere/f"))
        #expect(PathPolicy.isSymlinkInside(target: "../x", at: "a/link"))
        #expect(!PathPolicy.isSymlinkInside(target: "../x", at: "link"))
        #expect(!PathPolicy.isSymlinkInside(target: "/etc/hostname", at: "link"))
        #expect(!PathPolicy.isSymlinkInside(target: "a/../../x", at: "b/link"))
    }

    /// The initial sync ships only the difference and keeps what the pod owns.
    @Test func reconcileShipsOnlyTheDifference() async throws {
        let dir = TempDir("devloop-reconcile")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        for name in ["same", "changed", "touched"] { writeFile(source + "/" + name, "content of \(name)") }
        writeFile(source + "/new", "new")
        for name in ["same", "changed", "touched"] { writeFile(destination + "/" + name, "content of \(name)") }
        writeFile(destination + "/changed", "CONTENT OF changed")
        writeFile(destination + "/stale", "stale")
        mkdir(destination + "/.build", 0o755)
        writeFile(destination + "/.build/artifact", "pod's")
        var old = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        var later = [timespec(tv_sec: 2_000_000, tv_nsec: 0), timespec(tv_sec: 2_000_000, tv_nsec: 0)]
        for name in ["same", "changed", "touched"] { utimensat(AT_FDCWD, source + "/" + name, &old, 0) }
        utimensat(AT_FDCWD, destination + "/same", &old, 0)
        for name in ["changed", "touched"] { utimensat(AT_FDCWD, destination + "/" + name, &later, 0) }
        let recorder = RecordingTransport(HostPathTransport(source: source, destination: destination))
        let engine = SyncEngine(
            options: SyncOptions(source: source, destination: destination, podOwnedPaths: [".build/"]),
            transport: recorder)
        try await engine.start()
        await engine.stop()
        let shipped = Set(recorder.operations.map(\.path))
        // "changed" and "touched" have the same size but another mtime: their hashes decide.
        #expect(shipped == ["new", "stale", "changed"], "\(recorder.operations)")
        #expect(FileManager.default.fileExists(atPath: destination + "/.build/artifact"))
        #expect(
            TreeSnapshot(destination).items["changed"] == .file(mode: 0o644, content: Data("content of changed".utf8)))
    }

    @Test func autoPicksHostPathWhenThePodSeesIt() async throws {
        let dir = TempDir("devloop-auto")
        defer { dir.remove() }
        let shared = dir.sub("shared")
        let elsewhere = dir.sub("elsewhere")
        let seen = await TransportSelector.select(
            options: SyncOptions(source: dir.sub("src"), destination: shared, hostPath: shared),
            executor: LocalProcessExecutor())
        #expect(seen.transport.name == "hostPath", "\(seen.reason)")
        let unseen = await TransportSelector.select(
            options: SyncOptions(source: dir.sub("src"), destination: elsewhere, hostPath: shared),
            executor: LocalProcessExecutor())
        #expect(unseen.transport.name == "exec+tar", "\(unseen.reason)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: shared).isEmpty, "the probe file must be removed")
    }
}

/// A container that refuses every command.
private struct FailingExecutor: ContainerExecutor {
    func run(_ command: [String], stdin: Data) async throws -> ExecResult {
        ExecResult(exitCode: 126, stdout: Data(), stderr: Data("sh: not found".utf8))
    }
}

@Suite struct EngineFailureTests {
    /// A destination that cannot be listed stops the start with the container's own words, and
    /// leaves no watcher running.
    @Test func startFailsWithTheContainersMessage() async throws {
        let dir = TempDir("devloop-fail")
        defer { dir.remove() }
        let engine = SyncEngine(
            options: SyncOptions(source: dir.sub("src"), destination: "/app"),
            transport: ExecTarTransport(source: dir.sub("src"), destination: "/app", executor: FailingExecutor()))
        do {
            try await engine.start()
            Issue.record("start should have failed")
        } catch {
            #expect("\(error)".contains("listing /app failed: sh: not found"), "\(error)")
        }
        #expect(await engine.watchCount == 0)
    }
}

extension EngineFailureTests {
    /// An edit whose batch failed (the cluster away) ships once the destination answers again, with no
    /// later edit to carry it: the engine tries the reconcile again by itself. The edit has the size of
    /// the copy at the destination and (almost always) its second: the reconcile must hash it.
    @Test func aBatchThatFailedShipsOnceTheDestinationIsBack() async throws {
        let dir = TempDir("devloop-retry")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        try "v1\n".write(toFile: source + "/index.html", atomically: true, encoding: .utf8)
        let transport = OutageTransport(HostPathTransport(source: source, destination: destination))
        let engine = SyncEngine(
            options: SyncOptions(source: source, destination: "/app"), transport: transport)
        try await engine.start()
        transport.down.withLock { $0 = true }
        try "v2\n".write(toFile: source + "/index.html", atomically: true, encoding: .utf8)
        try await waitUntil("the batch fails", timeout: .seconds(30)) { await engine.failures > 0 }
        try await Task.sleep(for: .seconds(2))
        transport.down.withLock { $0 = false }
        try await waitUntil("the edit ships without another edit", timeout: .seconds(30)) {
            (try? String(contentsOfFile: destination + "/index.html", encoding: .utf8)) == "v2\n"
        }
        #expect(await engine.lastError == nil)
        await engine.stop()
    }
}

/// A transport that fails every call while `down`, as exec does while the API server is away.
final class OutageTransport: SyncTransport {
    let inner: any SyncTransport
    let down = Mutex(false)

    init(_ inner: any SyncTransport) { self.inner = inner }

    var name: String { inner.name }

    private func check() throws {
        if down.withLock({ $0 }) { throw SyncTransportError("connection refused") }
    }

    func apply(_ batch: SyncBatch) async throws -> [String] {
        try check()
        return try await inner.apply(batch)
    }

    func listDestination() async throws -> [String: DestinationEntry] {
        try check()
        return try await inner.listDestination()
    }

    func hashes(of paths: [String]) async throws -> [String: String] {
        try check()
        return try await inner.hashes(of: paths)
    }
}
