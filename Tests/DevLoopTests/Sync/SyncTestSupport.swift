import Foundation
import Glibc
import ProcessTestSupport
import Testing

@testable import DevLoop

/// A unique temporary directory, removed by `remove()`.
struct TempDir {
    let path: String

    /// tmpfs when there is one: the property tests create and delete files by the hundred
    /// thousand, and ext4's inode allocation would dominate their run time.
    static let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"

    init(_ label: String = "devloop-sync") {
        var template = Array("\(Self.base)/\(label).XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func sub(_ name: String) -> String {
        let full = path + "/" + name
        try? FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }

    func remove() { try? FileTree.remove(path) }
}

/// What a tree holds, comparable across source and destination.
struct TreeSnapshot: Equatable {
    enum Item: Equatable {
        case file(mode: UInt32, content: Data)
        case directory(mode: UInt32)
        case symlink(String)
    }

    var items: [String: Item] = [:]

    /// Reads `root`; `expected` drops what the sync must leave out (ignored paths, symlinks that
    /// point outside the tree).
    init(_ root: String, expected: Bool = false) {
        let rules = IgnoreRules(root: root)
        var stack = [""]
        while let directory = stack.popLast() {
            for (name, kind) in DirectoryReader.entries(of: directory.isEmpty ? root : root + "/" + directory) {
                let path = DirectoryReader.join(directory, name)
                if expected && rules.isIgnored(path, isDirectory: kind == .directory) { continue }
                guard let entry = LocalEntry.stat(root + "/" + path) else { continue }
                switch entry.kind {
                case .file:
                    items[path] = .file(
                        mode: entry.mode, content: FileManager.default.contents(atPath: root + "/" + path) ?? Data())
                case .directory:
                    items[path] = .directory(mode: entry.mode)
                    stack.append(path)
                case .symlink:
                    let target = entry.target ?? ""
                    if expected && !PathPolicy.isSymlinkInside(target: target, at: path) { continue }
                    items[path] = .symlink(target)
                case .other: continue
                }
            }
        }
    }

    /// A readable difference, for failure messages.
    func diff(against destination: TreeSnapshot) -> String {
        var lines: [String] = []
        for path in Set(items.keys).union(destination.items.keys).sorted() {
            let mine = items[path]
            let theirs = destination.items[path]
            guard mine != theirs else { continue }
            lines.append("  \(path): local \(Self.describe(mine)) / destination \(Self.describe(theirs))")
        }
        return lines.prefix(40).joined(separator: "\n")
    }

    private static func describe(_ item: Item?) -> String {
        switch item {
        case nil: return "missing"
        case .file(let mode, let content)?:
            return
                "file \(String(mode, radix: 8)) \(content.count)B \(String(decoding: content.prefix(24), as: UTF8.self).debugDescription)"
        case .directory(let mode)?: return "dir \(String(mode, radix: 8))"
        case .symlink(let target)?: return "symlink -> \(target)"
        }
    }
}

/// Records every operation a transport is asked to apply.
final class RecordingTransport: SyncTransport, @unchecked Sendable {
    let inner: any SyncTransport
    private let lock = NSLock()
    private var recorded: [SyncOperation] = []
    var name: String { inner.name }

    init(_ inner: any SyncTransport) { self.inner = inner }

    var operations: [SyncOperation] { lock.withLock { recorded } }
    func reset() { lock.withLock { recorded = [] } }

    func apply(_ batch: SyncBatch) async throws -> [String] {
        lock.withLock { recorded += batch.operations }
        return try await inner.apply(batch)
    }

    func listDestination() async throws -> [String: DestinationEntry] { try await inner.listDestination() }
    func hashes(of paths: [String]) async throws -> [String: String] { try await inner.hashes(of: paths) }
    func close() async { await inner.close() }
}

/// Runs container commands as local processes: `/bin/sh` and GNU tools, or busybox applets only;
/// `open` keeps one running (exec+tar's session). `ExecPerBatch` hides `open`.
struct LocalProcessExecutor: StreamingContainerExecutor {
    /// A directory of busybox applet links put first and alone on PATH, or nil for the host's tools.
    var busyboxBin: String?

    static func busybox(in dir: TempDir) -> LocalProcessExecutor? {
        guard
            FileManager.default.isExecutableFile(atPath: "/usr/bin/busybox")
                || FileManager.default.isExecutableFile(atPath: "/bin/busybox")
        else {
            return nil
        }
        let bin = dir.sub("busybox-bin")
        let busybox =
            FileManager.default.isExecutableFile(atPath: "/usr/bin/busybox") ? "/usr/bin/busybox" : "/bin/busybox"
        for applet in ["sh", "tar", "head", "dd", "rm", "mv", "mkdir", "chmod", "find", "stat", "sha256sum", "cat"] {
            symlink(busybox, bin + "/" + applet)
        }
        return LocalProcessExecutor(busyboxBin: bin)
    }

    func open(_ command: [String]) async throws -> any ContainerStream {
        try LocalProcessStream(command, busyboxBin: busyboxBin)
    }

    func run(_ command: [String], stdin: Data) async throws -> ExecResult {
        signal(SIGPIPE, SIG_IGN)
        let process = Process()
        var arguments = command
        if let busyboxBin {
            process.executableURL = URL(fileURLWithPath: busyboxBin + "/" + arguments.removeFirst())
            process.environment = ["PATH": busyboxBin]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        }
        process.arguments = arguments
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let status = process.exitStatus()
        try process.run()
        // Like a Kubernetes < 1.30 exec: stdin is written but never closed until the command ends.
        let writer = Thread {
            try? input.fileHandleForWriting.write(contentsOf: stdin)
        }
        writer.start()
        let stdout = Process.readToEnd(output)
        let stderr = Process.readToEnd(errors)
        guard let code = await status.wait(timeout: .seconds(120)) else {
            process.terminate()
            try? input.fileHandleForWriting.close()
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "\(arguments) ran over 120 s"])
        }
        try? input.fileHandleForWriting.close()
        return ExecResult(
            exitCode: code, stdout: await stdout.wait(timeout: .seconds(10)) ?? Data(),
            stderr: await stderr.wait(timeout: .seconds(10)) ?? Data())
    }
}

/// A seeded generator (SplitMix64): a failing run is replayed from its seed.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func writeFile(_ path: String, _ content: String, mode: mode_t = 0o644) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
    precondition(fd >= 0, "open \(path): \(String(cString: strerror(errno)))")
    _ = content.utf8CString.withUnsafeBytes { write(fd, $0.baseAddress, $0.count - 1) }
    close(fd)
}
