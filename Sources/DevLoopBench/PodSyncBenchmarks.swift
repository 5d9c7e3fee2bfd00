import DevLoop
import Foundation
import Glibc

/// The sync engine into a kubesim pod beside `kubectl cp` into the same pod, the sides interleaved
/// sample by sample (A B A B …). Every sample is checked at the destination before it counts.
enum PodSyncBenchmarks {
    /// One file edited `edits` times: devloop's running engine over exec+tar (close of the write to the
    /// pod's `tar -x` done), and `kubectl cp` of the same file (its start to its exit).
    static func editLatency(pod: SyncPod, work: String, edits: Int) async throws -> [Figure] {
        let source = work + "/edit-exec"
        let copies = work + "/edit-kubectl"
        let edited = "d3/edit.txt"
        try BenchTree.make(root: source, directories: 20, filesPerDirectory: 50, bytes: 1_024)
        try FileManager.default.createDirectory(atPath: copies, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            atPath: pod.hostPath + "/edit-kubectl/d3", withIntermediateDirectories: true)
        let signal = ShipSignal(
            ExecTarTransport(source: source, destination: "/app/edit-exec", executor: pod.executor), watching: edited)
        let engine = SyncEngine(options: SyncOptions(source: source, destination: "/app/edit-exec"), transport: signal)
        try await engine.start()
        var devloop: [Double] = []
        var kubectl: [Double] = []
        do {
            for i in 0..<edits {
                let content = "edit \(i) " + String(repeating: "x", count: 200) + "\n"
                devloop.append(
                    try await signal.timeEdit(source + "/" + edited, content) {
                        try pod.holds("edit-exec/" + edited, content)
                    })
                try write(copies + "/edit.txt", content)
                kubectl.append(try await pod.kubectlCopy(copies + "/edit.txt", to: "edit-kubectl/" + edited))
                guard try pod.holds("edit-kubectl/" + edited, content) else {
                    throw BenchError("kubectl cp exited 0 but /app/edit-kubectl/\(edited) does not hold edit \(i)")
                }
            }
        } catch {
            await engine.stop()
            throw error
        }
        await engine.stop()
        return [Figure("sync: edit -> at destination (exec+tar)", devloop, unit: "ms", baseline: kubectl)]
    }

    /// What every exec+tar batch costs before its content: one exec of `true` in the pod through
    /// devloop's client (WebSocket, the kubelet's spawn, the exit status), beside `kubectl exec`.
    static func execRoundTrip(pod: SyncPod, count: Int) async throws -> [Figure] {
        let executor = pod.executor
        var devloop: [Double] = []
        var kubectl: [Double] = []
        for _ in 0..<count {
            let start = ContinuousClock.now
            let result = try await executor.run(["true"], stdin: Data())
            guard result.exitCode == 0 else { throw BenchError("exec of true in the pod exited \(result.exitCode)") }
            devloop.append(milliseconds(since: start))
            let kubectlStart = ContinuousClock.now
            try await pod.cluster.kubectl.check([
                "-n", SyncPod.namespace, "exec", SyncPod.name, "-c", SyncPod.container, "--", "true",
            ])
            kubectl.append(milliseconds(since: kubectlStart))
        }
        return [Figure("sync: one exec round trip (true) into the pod", devloop, unit: "ms", baseline: kubectl)]
    }

    /// Every file of a `files`-file tree rewritten at once, as a `git checkout` of another branch does:
    /// from the last write's close to the whole tree at the destination, over HostPath and over
    /// exec+tar (each engine watching its own copy), beside `kubectl cp` of the tree.
    static func burst(pod: SyncPod, work: String, files: Int, samples: Int) async throws -> [Figure] {
        let shape = (directories: max(1, files / 100), files: 100, bytes: 2_048)
        let sides = ["hostpath", "exec", "kubectl"].map { work + "/burst-" + $0 }
        for side in sides {
            try BenchTree.make(
                root: side, directories: shape.directories, filesPerDirectory: shape.files, bytes: shape.bytes)
        }
        // A hostPath folder exists before any sync (the pod mounts it); exec+tar's destination is made by the engine.
        try FileManager.default.createDirectory(
            atPath: pod.hostPath + "/burst-hostpath", withIntermediateDirectories: true)
        let engines = [
            SyncEngine(
                options: SyncOptions(source: sides[0], destination: "/app/burst-hostpath"),
                transport: HostPathTransport(source: sides[0], destination: pod.hostPath + "/burst-hostpath")),
            SyncEngine(
                options: SyncOptions(source: sides[1], destination: "/app/burst-exec"),
                transport: ExecTarTransport(source: sides[1], destination: "/app/burst-exec", executor: pod.executor)),
        ]
        var times: [[Double]] = [[], [], []]
        do {
            for engine in engines { try await engine.start() }
            for sample in 1...samples {
                for (index, engine) in engines.enumerated() {
                    try BenchTree.make(
                        root: sides[index], directories: shape.directories, filesPerDirectory: shape.files,
                        bytes: shape.bytes, seed: sample)
                    let start = ContinuousClock.now
                    try await bounded("the \(engine.transport.name) burst's settle") { await engine.settle() }
                    times[index].append(milliseconds(since: start))
                    try pod.expectTree(index == 0 ? "burst-hostpath" : "burst-exec", equals: sides[index])
                }
                try BenchTree.make(
                    root: sides[2], directories: shape.directories, filesPerDirectory: shape.files, bytes: shape.bytes,
                    seed: sample)
                let remote = "burst-kubectl-\(sample)"
                times[2].append(try await pod.kubectlCopy(sides[2], to: remote))
                try pod.expectTree(remote, equals: sides[2])
                try FileManager.default.removeItem(atPath: pod.hostPath + "/" + remote)
            }
        } catch {
            for engine in engines { await engine.stop() }
            throw error
        }
        for engine in engines { await engine.stop() }
        let files = shape.directories * shape.files
        return [
            Figure("sync: \(files)-file burst -> at destination (HostPath)", times[0], unit: "ms", baseline: times[2]),
            Figure("sync: \(files)-file burst -> at destination (exec+tar)", times[1], unit: "ms", baseline: times[2]),
        ]
    }

    /// A tree of `files` files of 10 KiB into an empty folder of the pod: the engine's start (watch,
    /// reconcile, ship) over HostPath and over exec+tar, beside `kubectl cp` of the tree; then the
    /// HostPath re-sync after every file was touched.
    static func initialSync(pod: SyncPod, work: String, files: Int, samples: Int) async throws -> [Figure] {
        let source = work + "/initial"
        let directories = max(1, files / 100)
        try BenchTree.make(root: source, directories: directories, filesPerDirectory: 100, bytes: 10_240)
        var times: [[Double]] = [[], [], []]
        var operations = 0
        for sample in 1...samples {
            for (index, side) in ["hostpath", "exec"].enumerated() {
                let remote = "initial-\(side)-\(sample)"
                if index == 0 {
                    try FileManager.default.createDirectory(
                        atPath: pod.hostPath + "/" + remote, withIntermediateDirectories: true)
                }
                let transport: any SyncTransport =
                    index == 0
                    ? HostPathTransport(source: source, destination: pod.hostPath + "/" + remote)
                    : ExecTarTransport(source: source, destination: "/app/" + remote, executor: pod.executor)
                let engine = SyncEngine(
                    options: SyncOptions(source: source, destination: "/app/" + remote), transport: transport)
                let start = ContinuousClock.now
                let batch: SyncBatch
                do {
                    batch = try await engine.start()
                } catch {
                    await engine.stop()
                    throw error
                }
                times[index].append(milliseconds(since: start))
                await engine.stop()
                operations = batch.operations.count
                try pod.expectTree(remote, equals: source)
                if sample < samples || index == 1 {
                    try FileManager.default.removeItem(atPath: pod.hostPath + "/" + remote)
                }
            }
            let remote = "initial-kubectl-\(sample)"
            times[2].append(try await pod.kubectlCopy(source, to: remote))
            try pod.expectTree(remote, equals: source)
            try FileManager.default.removeItem(atPath: pod.hostPath + "/" + remote)
        }
        let megabytes = Double(files * 10_240) / 1e6
        let name = "sync: initial sync \(files) files / \(Int(megabytes)) MB"
        let throughput = { (samples: [Double]) in samples.map { megabytes / ($0 / 1_000) } }
        return [
            Figure(name + " (HostPath)", times[0], unit: "ms", baseline: times[2]),
            Figure(name + " (exec+tar)", times[1], unit: "ms", baseline: times[2]),
            Figure(
                "sync: initial sync throughput (HostPath)", throughput(times[0]), unit: "MB/s",
                baseline: throughput(times[2])),
            Figure(
                "sync: initial sync throughput (exec+tar)", throughput(times[1]), unit: "MB/s",
                baseline: throughput(times[2])),
            .single("sync: initial sync operations", Double(operations), unit: "ops"),
        ]
            + (try await SyncBenchmarks.resync(
                source: source, destination: pod.hostPath + "/initial-hostpath-\(samples)", files: files))
    }

    static func write(_ path: String, _ content: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw BenchError("cannot write \(path): errno \(errno)") }
        defer { close(fd) }
        let written = content.withCString { Glibc.write(fd, $0, strlen($0)) }
        guard written == content.utf8.count else { throw BenchError("short write to \(path)") }
    }
}
