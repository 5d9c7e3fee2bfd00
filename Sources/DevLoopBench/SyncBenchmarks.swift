import DevLoop
import Foundation
import Glibc

enum SyncBenchmarks {
    /// From the close of a write to the file being complete (renamed into place) at the destination.
    static func editLatency(work: String, edits: Int) async throws -> [Figure] {
        let source = work + "/src"
        let destination = work + "/dst"
        let edited = "d3/edit.txt"
        try BenchTree.make(root: source, directories: 20, filesPerDirectory: 50, bytes: 1_024)
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        let signal = ShipSignal(HostPathTransport(source: source, destination: destination), watching: edited)
        let engine = SyncEngine(options: SyncOptions(source: source, destination: destination), transport: signal)
        try await engine.start()
        var samples: [Double] = []
        do {
            for i in 0..<edits {
                let content = "edit \(i) " + String(repeating: "x", count: 200) + "\n"
                samples.append(
                    try await signal.timeEdit(source + "/" + edited, content) {
                        FileManager.default.contents(atPath: destination + "/" + edited) == Data(content.utf8)
                    })
            }
        } catch {
            await engine.stop()
            throw error
        }
        await engine.stop()
        return [Figure("sync: edit -> at destination (HostPath)", samples, unit: "ms")]
    }

    /// The same content with new mtimes: the reconcile hashes every file on both sides (the SHA-256
    /// hot path) and ships nothing. `source` holds `files` files of 10 KiB in folders of 100.
    static func resync(source: String, destination: String, files: Int) async throws -> [Figure] {
        var times = [timespec](repeating: timespec(tv_sec: time(nil) - 100, tv_nsec: 0), count: 2)
        for d in 0..<max(1, files / 100) {
            for f in 0..<100 { _ = utimensat(AT_FDCWD, source + "/d\(d)/f\(f).txt", &times, 0) }
        }
        let engine = SyncEngine(
            options: SyncOptions(source: source, destination: destination),
            transport: HostPathTransport(source: source, destination: destination))
        let start = ContinuousClock.now
        let batch: SyncBatch
        do {
            batch = try await engine.start()
        } catch {
            await engine.stop()
            throw error
        }
        let elapsed = milliseconds(since: start)
        await engine.stop()
        let megabytes = Double(files * 10_240) / 1e6
        return [
            .single("sync: re-sync after touch (hashes both sides)", elapsed, unit: "ms"),
            .single("sync: re-sync hash throughput", 2 * megabytes / (elapsed / 1_000), unit: "MB/s"),
            .single("sync: re-sync operations", Double(batch.operations.count), unit: "ops"),
        ]
    }

    /// CPU time of the whole process while the engine watches a tree where nothing changes.
    static func idleCPU(work: String, seconds: Double) async throws -> [Figure] {
        let source = work + "/src"
        let destination = work + "/dst"
        try BenchTree.make(root: source, directories: 100, filesPerDirectory: 10, bytes: 100)
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        let engine = SyncEngine(
            options: SyncOptions(source: source, destination: destination),
            transport: HostPathTransport(source: source, destination: destination))
        try await engine.start()
        try await Task.sleep(for: .milliseconds(300))
        let before = cpuSeconds()
        try await Task.sleep(for: .seconds(seconds))
        let used = cpuSeconds() - before
        await engine.stop()
        return [.single("watch: CPU while idle for \(Int(seconds)) s", used * 1_000, unit: "ms")]
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }
}

/// Wraps a transport and reports when a batch that contains one path has been applied.
final class ShipSignal: SyncTransport, @unchecked Sendable {
    let inner: any SyncTransport
    let path: String
    private let lock = NSLock()
    private var shipped = 0
    private var lastShip = ContinuousClock.now
    private var waiter: (generation: Int, continuation: CheckedContinuation<(ContinuousClock.Instant, Int), Never>)?
    var name: String { inner.name }

    init(_ inner: any SyncTransport, watching path: String) {
        self.inner = inner
        self.path = path
    }

    /// How many batches with `path` have been applied so far.
    var generation: Int { lock.withLock { shipped } }

    /// Writes `content` to `file` (the watched path) and returns the milliseconds from the write's
    /// close to the first applied batch after which `delivered()` holds (a batch may carry an
    /// earlier state of the file: the next one then counts). Bounded.
    func timeEdit(_ file: String, _ content: String, delivered: () throws -> Bool) async throws -> Double {
        var generation = self.generation
        try PodSyncBenchmarks.write(file, content)
        let closedAt = ContinuousClock.now
        for _ in 0..<10 {
            let seen = generation
            let (doneAt, shipped) = try await bounded("a batch with \(path)", timeout: .seconds(60)) {
                await self.wait(beyond: seen)
            }
            if try delivered() { return milliseconds(closedAt.duration(to: doneAt)) }
            generation = shipped
        }
        throw BenchError("ten batches with \(path) were applied, none with the edit")
    }

    /// Returns when a batch with `path` beyond `generation` has been applied: when that was, and the
    /// generation it made.
    func wait(beyond generation: Int) async -> (ContinuousClock.Instant, Int) {
        await withCheckedContinuation { continuation in
            lock.withLock {
                if shipped > generation {
                    continuation.resume(returning: (lastShip, shipped))
                } else {
                    waiter = (generation, continuation)
                }
            }
        }
    }

    func apply(_ batch: SyncBatch) async throws -> [String] {
        let skipped = try await inner.apply(batch)
        guard batch.operations.contains(where: { $0.path == path }) else { return skipped }
        let done = ContinuousClock.now
        lock.withLock {
            shipped += 1
            lastShip = done
            if let waiter, shipped > waiter.generation {
                waiter.continuation.resume(returning: (done, shipped))
                self.waiter = nil
            }
        }
        return skipped
    }

    func listDestination() async throws -> [String: DestinationEntry] { try await inner.listDestination() }
    func hashes(of paths: [String]) async throws -> [String: String] { try await inner.hashes(of: paths) }
    func close() async { await inner.close() }
}

enum BenchTree {
    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/devloop-bench.XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw CocoaError(.fileWriteUnknown)
        }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes (or rewrites) `directories` folders of `filesPerDirectory` files of `bytes` bytes; a
    /// different `seed` gives every file different content.
    static func make(root: String, directories: Int, filesPerDirectory: Int, bytes: Int, seed: Int = 0) throws {
        let content = [UInt8]((0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7 &+ seed) })
        for d in 0..<directories {
            let directory = root + "/d\(d)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for f in 0..<filesPerDirectory {
                let fd = open(directory + "/f\(f).txt", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                _ = content.withUnsafeBytes { write(fd, $0.baseAddress, bytes) }
                close(fd)
            }
        }
    }
}
