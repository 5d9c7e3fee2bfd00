import Foundation
import Glibc
import Testing

@testable import DevLoop

/// Source trees as they are found on developers' disks: every entry is either synced exactly or left
/// out with one warning, and the engine keeps going (issue 12, "Source trees").
@Suite struct OddTreeTests {
    /// Entries the sync must carry as they are.
    static func writeSyncable(_ source: String) throws {
        writeFile(source + "/with space.txt", "spaces\n")
        writeFile(source + "/uni-ü-日本-🙂.txt", "unicode\n")
        writeFile(source + "/" + String(repeating: "n", count: 251) + ".txt", "255 bytes\n")
        var deep = source
        for level in 0..<40 {
            deep += "/level\(level)"
            mkdir(deep, 0o755)
        }
        writeFile(deep + "/bottom.txt", "deep\n")
        // A loop of relative links stays inside the tree: links are copied, never followed.
        symlink("loop-b", source + "/loop-a")
        symlink("loop-a", source + "/loop-b")
        writeFile(source + "/empty", "")
    }

    /// Entries the sync must leave out, each named by exactly one warning.
    static func writeRefused(_ source: String) throws -> [String] {
        writeFile(source + "/new\nline.txt", "newline\n")
        mkfifo(source + "/pipe", 0o644)
        try bindSocket(at: source + "/sock")
        symlink("/etc/passwd", source + "/absolute-out")
        symlink("../../outside", source + "/relative-out")
        let sparse = open(source + "/huge.sparse", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        ftruncate(sparse, 2 << 30)
        close(sparse)
        return ["line.txt", "pipe", "sock", "absolute-out", "relative-out", "huge.sparse"]
    }

    static func bindSocket(at path: String) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            path.utf8CString.withUnsafeBytes {
                raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(raw.count - 1)))
            }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(descriptor)
        try #require(bound == 0, "bind \(path): errno \(errno)")
    }

    enum Transport: String, CaseIterable, Sendable { case hostPath, execTar }

    @Test(arguments: Transport.allCases)
    func oddEntriesAreSyncedOrSkippedWithOneWarning(transport: Transport) async throws {
        let dir = TempDir("devloop-oddtree")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        try Self.writeSyncable(source)
        let refused = try Self.writeRefused(source)
        let recorder = LogRecorder()
        let options = SyncOptions(source: source, destination: destination)
        let shipper: any SyncTransport =
            transport == .hostPath
            ? HostPathTransport(source: source, destination: destination)
            : ExecTarTransport(source: source, destination: destination, executor: LocalProcessExecutor())
        let engine = SyncEngine(options: options, transport: shipper, logger: recorder.logger())
        try await engine.start()
        // Edits after the start go through the watcher, which sees the same entries again.
        writeFile(source + "/with space.txt", "spaces, edited\n")
        mkfifo(source + "/fifo-later", 0o644)
        await engine.settle()
        _ = try await engine.resync()
        await engine.settle()
        let lastError = await engine.lastError
        #expect(lastError == nil, "\(lastError ?? "")")
        await engine.stop()
        // Not read back: it is 2 GB of holes.
        unlink(source + "/huge.sparse")

        var expected = TreeSnapshot(source, expected: true)
        for name in refused + ["fifo-later"] {
            expected.items = expected.items.filter { !$0.key.hasSuffix(name) }
        }
        let actual = TreeSnapshot(destination)
        let difference = expected.diff(against: actual)
        #expect(difference.isEmpty, "\(difference)")
        #expect(actual.items["with space.txt"] == .file(mode: 0o644, content: Data("spaces, edited\n".utf8)))
        #expect(actual.items.keys.contains { $0.hasSuffix("/bottom.txt") })
        for name in refused + ["fifo-later"] {
            let about = recorder.warnings.filter {
                $0.hasPrefix("not syncing \(name):") || $0.hasPrefix("not syncing symlink \(name) ->")
                    || $0.hasPrefix("not syncing \"new\\n\(name)\"")
            }
            #expect(about.count == 1, "warnings about \(name): \(about)")
        }
        #expect(!actual.items.keys.contains { $0.contains("huge") })
    }

    /// Root reads everything, so as root the test runs itself again as `nobody` in a process of its own.
    @Test func unreadableEntriesAreSkippedWithOneWarning() async throws {
        guard geteuid() != 0 else {
            let name = "unreadableEntriesAreSkippedWithOneWarning"
            let bundle = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            let (status, output) = try await DevLoopProcess.run(
                [
                    "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", bundle,
                    "--testing-library", "swift-testing", "--filter", name,
                ], directory: "/", environment: ["TMPDIR": "/tmp"], executable: "/usr/bin/setpriv",
                timeout: .seconds(120))
            #expect(status == 0, "\(output.suffix(3000))")
            #expect(output.contains("\(name)() passed"), "the test did not run as nobody: \(output.suffix(3000))")
            return
        }
        let dir = TempDir("devloop-unreadable")
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        defer {
            chmod(source + "/locked", 0o755)
            dir.remove()
        }
        writeFile(source + "/ok.txt", "ok\n")
        writeFile(source + "/secret.txt", "secret\n", mode: 0o000)
        mkdir(source + "/locked", 0o755)
        writeFile(source + "/locked/inside.txt", "inside\n")
        chmod(source + "/locked", 0o000)
        let recorder = LogRecorder()
        let engine = SyncEngine(
            options: SyncOptions(source: source, destination: destination),
            transport: HostPathTransport(source: source, destination: destination), logger: recorder.logger())
        try await engine.start()
        writeFile(source + "/later.txt", "later\n", mode: 0o000)
        writeFile(source + "/ok.txt", "ok, edited\n")
        await engine.settle()
        _ = try await engine.resync()
        await engine.settle()
        let lastError = await engine.lastError
        #expect(lastError == nil, "\(lastError ?? "")")
        await engine.stop()
        #expect(TreeSnapshot(destination).items == ["ok.txt": .file(mode: 0o644, content: Data("ok, edited\n".utf8))])
        for name in ["secret.txt", "locked", "later.txt"] {
            let about = recorder.warnings.filter { $0.hasPrefix("not syncing \(name):") }
            #expect(about.count == 1, "warnings about \(name): \(recorder.warnings)")
        }
    }
}
