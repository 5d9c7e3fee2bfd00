import Foundation
import Glibc

/// Ships batches into a container through exec. With an executor that can keep a command running
/// (a pod's), one exec is kept open and reads batch after batch (`ExecTarSession`); otherwise, or
/// when the container cannot run the session script, one `sh` per batch reads the renames and
/// deletes as lines, then exactly N bytes of ustar into `tar -x`. Works with busybox and GNU tar, and
/// never needs stdin's end (Kubernetes before 1.30 cannot half-close exec's stdin): `head -c N` ends
/// the stream, and the archive is padded to whole records for GNU tar.
public struct ExecTarTransport: SyncTransport {
    public let source: String
    public let destination: String
    let executor: any ContainerExecutor
    /// Content per exec; larger batches are split.
    let maxArchiveBytes: Int
    /// The exec kept open for batches, shared by copies of this transport; nil: an exec per batch.
    let session: ExecTarSession?
    public var name: String { "exec+tar" }

    /// `batchDeadline`: how long a batch on the open exec may wait for its answer (plus 4 ms
    /// per KiB of content) before that exec is dropped and the batch fails.
    public init(
        source: String, destination: String, executor: any ContainerExecutor, maxArchiveBytes: Int = 32 << 20,
        batchDeadline: Duration = .seconds(30)
    ) {
        self.source = source
        self.destination = destination
        self.executor = executor
        self.maxArchiveBytes = maxArchiveBytes
        session = (executor as? any StreamingContainerExecutor).map {
            ExecTarSession(executor: $0, destination: destination, deadline: batchDeadline)
        }
    }

    /// Execs opened for the kept-open session so far (0 without one).
    public var sessionExecs: Int {
        get async { await session?.opened ?? 0 }
    }

    public func close() async {
        await session?.close()
    }

    /// Applies the rename, delete, mkdir and chmod lines up to `E` in the current folder; a failed one
    /// sets `status=1`. Shared by the exec per batch and the kept-open session.
    static let operationLines = """
        while IFS= read -r op; do
          case "$op" in
            E) break ;;
            D*) rm -rf -- "${op#D}" || status=1 ;;
            P*) mkdir -p -- "${op#P}" || status=1 ;;
            C*) IFS= read -r path; chmod "${op#C}" "./$path" || status=1 ;;
            R*) IFS= read -r to; rm -rf -- "$to"; mv -f -- "${op#R}" "$to" || status=1 ;;
          esac
        done
        """

    static let applyScript = """
        cd -- "$1" || exit 1
        status=0
        \(operationLines)
        if [ "$2" -gt 0 ]; then head -c "$2" | tar -xof - || status=1; fi
        exit $status
        """

    @discardableResult
    public func apply(_ batch: SyncBatch) async throws -> [String] {
        for operation in batch.operations {
            for path in HostPathTransport.paths(of: operation) where !PathPolicy.isSafe(path) {
                throw SyncTransportError("refusing to write outside \(destination): \(path)")
            }
        }
        var skipped: [String] = []
        var next = batch.operations.startIndex
        while next < batch.operations.endIndex {
            // Files are read off the cooperative threads, one archive (at most maxArchiveBytes) at a time.
            let chunk = try await BlockingWork.run { [next] cancelled in
                try self.chunk(of: batch.operations, from: next, cancelled)
            }
            skipped += chunk.skipped
            next = chunk.end
            if !chunk.script.isEmpty || !chunk.tar.isEmpty {
                try await run(script: chunk.script, archive: chunk.tar, renames: chunk.renames)
            }
        }
        return skipped
    }

    private struct Chunk: Sendable {
        var script = ""
        var tar = TarWriter()
        var skipped: [String] = []
        var renames = false
        var end: Int
    }

    private func chunk(of operations: [SyncOperation], from start: Int, _ cancelled: CancellationFlag) throws -> Chunk {
        var chunk = Chunk(end: operations.endIndex)
        for index in start..<operations.endIndex {
            try cancelled.check()
            switch operations[index] {
            case .rename(let from, let to):
                let (parent, _) = DestinationIndex.split(to)
                if !parent.isEmpty { chunk.script += "P\(parent)\n" }
                chunk.script += "R\(from)\n\(to)\n"
                chunk.renames = true
            case .delete(let path):
                chunk.script += "D\(path)\n"
            case .chmod(let path, let mode):
                chunk.script += "C\(String(mode, radix: 8))\n\(path)\n"
            case .directory(let path, let mode):
                chunk.tar.addDirectory(path, mode: mode, mtime: Self.mtime(source + "/" + path))
            case .symlink(let path, let target):
                chunk.tar.addSymlink(path, target: target, mtime: Self.mtime(source + "/" + path))
            case .file(let path, let mode):
                // A file that vanished meanwhile is skipped: its deletion is another change.
                guard let content = FileManager.default.contents(atPath: source + "/" + path) else {
                    chunk.skipped.append(path)
                    chunk.script += "D\(path)\n"
                    continue
                }
                chunk.tar.addFile(path, mode: mode, mtime: Self.mtime(source + "/" + path), content: content)
                if chunk.tar.data.count >= maxArchiveBytes {
                    chunk.end = index + 1
                    return chunk
                }
            }
        }
        return chunk
    }

    private func run(script: String, archive: TarWriter, renames: Bool) async throws {
        let tarData = archive.isEmpty ? Data() : archive.finished()
        if let session, try await session.apply(FramedBatch(script: script, archive: tarData, hasRenames: renames)) {
            return
        }
        var stdin = Data((script + "E\n").utf8)
        stdin.append(tarData)
        let result = try await executor.run(
            ["sh", "-c", Self.applyScript, "sh", destination, String(tarData.count)], stdin: stdin)
        guard result.exitCode == 0 else {
            throw SyncTransportError(
                "exec in container failed (\(result.exitCode)): \(String(decoding: result.stderr, as: UTF8.self))")
        }
    }

    public func listDestination() async throws -> [String: DestinationEntry] {
        let script = #"mkdir -p -- "$1" && cd -- "$1" && find . -mindepth 1 -exec stat -c '%f %s %Y %n' {} +"#
        let result = try await executor.run(["sh", "-c", script, "sh", destination], stdin: Data())
        guard result.exitCode == 0 else {
            throw SyncTransportError("listing \(destination) failed: \(String(decoding: result.stderr, as: UTF8.self))")
        }
        var entries: [String: DestinationEntry] = [:]
        for line in String(decoding: result.stdout, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4, let rawMode = UInt32(fields[0], radix: 16), let size = Int64(fields[1]),
                let mtime = Int64(fields[2]), fields[3].hasPrefix("./")
            else { continue }
            let kind = DirectoryReader.kind(mode: mode_t(rawMode))
            entries[String(fields[3].dropFirst(2))] = DestinationEntry(
                kind: kind, mode: rawMode & 0o7777, size: size, mtimeSeconds: mtime)
        }
        return entries
    }

    public func hashes(of paths: [String]) async throws -> [String: String] {
        var result: [String: String] = [:]
        let safe = paths.filter { PathPolicy.isSafe($0) }
        for start in stride(from: 0, to: safe.count, by: 200) {
            let chunk = Array(safe[start..<min(start + 200, safe.count)])
            let script = #"cd -- "$1" && shift && sha256sum -- "$@""#
            let output = try await executor.run(["sh", "-c", script, "sh", destination] + chunk, stdin: Data())
            for line in String(decoding: output.stdout, as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { continue }
                result[String(parts[1].drop { $0 == " " || $0 == "*" })] = String(parts[0])
            }
        }
        return result
    }

    static func mtime(_ path: String) -> Int64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        return Int64(st.st_mtim.tv_sec)
    }
}
