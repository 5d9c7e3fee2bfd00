import Foundation
import Glibc
import Testing

@testable import DevLoop

/// Editors save in odd ways; each save must reach the destination as exactly one clean update of
/// the real file, and none of their swap, backup or temp files may ever be shipped.
@Suite struct EditorSaveTests {
    /// Syncs a tree holding `file.txt`, runs `save` on it, and returns what was shipped for it.
    private func shipped(_ save: (String) -> Void) async throws -> (ops: [SyncOperation], content: String?) {
        let dir = TempDir("devloop-editor")
        defer { dir.remove() }
        let source = dir.sub("src")
        let destination = dir.sub("dst")
        writeFile(source + "/file.txt", "old\n")
        let recorder = RecordingTransport(HostPathTransport(source: source, destination: destination))
        let engine = SyncEngine(options: SyncOptions(source: source, destination: destination), transport: recorder)
        try await engine.start()
        recorder.reset()
        save(source + "/file.txt")
        await engine.settle()
        await engine.stop()
        let content = FileManager.default.contents(atPath: destination + "/file.txt").map {
            String(decoding: $0, as: UTF8.self)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: destination).filter { $0 != "file.txt" }
        #expect(leftovers.isEmpty, "temp files at the destination: \(leftovers)")
        return (recorder.operations, content)
    }

    private func expectOneCleanUpdate(_ result: (ops: [SyncOperation], content: String?)) {
        #expect(result.ops == [.file("file.txt", mode: 0o644)], "shipped: \(result.ops)")
        #expect(result.content == "new\n")
    }

    @Test func vimWithBackupRename() async throws {
        // vim, `backupcopy=no`: probe the directory with 4913, rename the original to the backup,
        // write a new file, restore the mode, drop the backup; its swap file comes and goes.
        expectOneCleanUpdate(
            try await shipped { path in
                let dir = DestinationIndex.split(path).parent
                writeFile(dir + "/.file.txt.swp", "swap")
                writeFile(dir + "/4913", "")
                unlink(dir + "/4913")
                rename(path, path + "~")
                writeFile(path, "new\n")
                chmod(path, 0o644)
                unlink(path + "~")
                unlink(dir + "/.file.txt.swp")
            })
    }

    @Test func vsCodeWriteInPlace() async throws {
        expectOneCleanUpdate(
            try await shipped { path in
                let fd = open(path, O_WRONLY | O_TRUNC)
                _ = "new\n".withCString { write(fd, $0, 4) }
                close(fd)
            })
    }

    @Test func vsCodeAtomicSave() async throws {
        expectOneCleanUpdate(
            try await shipped { path in
                writeFile(path + ".vsctmp", "new\n")
                rename(path + ".vsctmp", path)
            })
    }

    @Test func jetBrainsSafeWrite() async throws {
        expectOneCleanUpdate(
            try await shipped { path in
                writeFile(path + "___jb_tmp___", "new\n")
                rename(path, path + "___jb_old___")
                rename(path + "___jb_tmp___", path)
                unlink(path + "___jb_old___")
            })
    }

    @Test func emacsLockAndGnomeTemp() async throws {
        expectOneCleanUpdate(
            try await shipped { path in
                let dir = DestinationIndex.split(path).parent
                symlink("user@host.1234:1", dir + "/.#file.txt")
                writeFile(dir + "/.goutputstream-ABC123", "new\n")
                rename(dir + "/.goutputstream-ABC123", path)
                unlink(dir + "/.#file.txt")
            })
    }
}
