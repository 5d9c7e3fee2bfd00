import Foundation
import Glibc

@testable import DevLoop

/// Random edits on a real tree, the way people and tools make them: creates, appends, truncations,
/// atomic saves, renames of files and directories, moves in and out of the tree, deletes, chmods,
/// nested mkdirs, symlinks and ignored files.
struct TreeOperations {
    let root: String
    /// A directory outside the tree, for moves in and out.
    let outside: String
    var random: SeededRandom
    private var counter = 0
    private(set) var log: [String] = []
    /// The regular files and directories outside ignored places, tracked as operations run (a walk
    /// per operation would cost more than the sync under test).
    private var files = Set<String>()
    private var directories: Set<String> = ["", "src"]

    init(root: String, outside: String, seed: UInt64) {
        self.root = root
        self.outside = outside
        self.random = SeededRandom(seed: seed)
        files = ["src/main.swift"]
    }

    /// Writes the ignore rules the operations rely on.
    static func prepare(root: String) {
        writeFile(root + "/.gitignore", "*.log\nbuild/\n")
        mkdir(root + "/src", 0o755)
        writeFile(root + "/src/main.swift", "print(1)\n")
    }

    mutating func step() {
        let choice = Int.random(in: 0..<100, using: &random)
        // Sorted so that a seed replays exactly; only what the operation needs.
        var directories: [String] { self.directories.sorted() }
        var files: [String] { self.files.sorted() }
        switch choice {
        case 0..<18: create(in: pick(directories))
        case 18..<28: if let f = maybe(files) { append(f) } else { create(in: "") }
        case 28..<34: if let f = maybe(files) { truncateFile(f) }
        case 34..<44: if let f = maybe(files) { atomicSave(f) }
        case 44..<52: if let f = maybe(files) { rename(f, to: join(pick(directories), name("r"))) }
        case 52..<56: if let d = maybe(directories.filter { !$0.isEmpty }) { renameDirectory(d, directories) }
        case 56..<60: if let f = maybe(files) { moveOut(f) }
        case 60..<64: moveIn(into: pick(directories))
        case 64..<72: if let f = maybe(files) { remove(f) }
        case 72..<74: if let d = maybe(directories.filter { !$0.isEmpty }) { removeTree(d) }
        case 74..<80: if let f = maybe(files) { changeMode(f, [0o644, 0o755, 0o600, 0o640]) }
        case 80..<82: if let d = maybe(directories.filter { !$0.isEmpty }) { changeMode(d, [0o755, 0o750, 0o700]) }
        case 82..<88: nestedMkdir(in: pick(directories))
        case 88..<94: ignored(in: pick(directories))
        default: link(in: pick(directories), files: files)
        }
    }

    // MARK: Operations

    private mutating func create(in directory: String) {
        let path = join(directory, name("f"))
        record("create \(path)")
        writeFile(abs(path), content())
        files.insert(path)
    }

    private mutating func append(_ path: String) {
        record("append \(path)")
        let fd = open(abs(path), O_WRONLY | O_APPEND)
        guard fd >= 0 else { return }
        let text = content()
        _ = text.utf8CString.withUnsafeBytes { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }

    private mutating func truncateFile(_ path: String) {
        let size = Int.random(in: 0..<8, using: &random)
        record("truncate \(path) \(size)")
        truncate(abs(path), off_t(size))
    }

    private mutating func atomicSave(_ path: String) {
        let temporary = path + ".tmp" + String(counter)
        record("atomic-save \(path)")
        writeFile(abs(temporary), content())
        Glibc.rename(abs(temporary), abs(path))
    }

    private mutating func rename(_ from: String, to: String) {
        record("rename \(from) -> \(to)")
        Glibc.rename(abs(from), abs(to))
        files.remove(from)
        files.insert(to)
    }

    private mutating func renameDirectory(_ directory: String, _ all: [String]) {
        let parents = all.filter { $0 != directory && !$0.hasPrefix(directory + "/") }
        let to = join(pick(parents), name("d"))
        record("rename-dir \(directory) -> \(to)")
        Glibc.rename(abs(directory), abs(to))
        func moved(_ path: String) -> String {
            path == directory || path.hasPrefix(directory + "/") ? to + path.dropFirst(directory.count) : path
        }
        files = Set(files.map(moved))
        directories = Set(directories.map(moved))
    }

    private mutating func moveOut(_ path: String) {
        record("move-out \(path)")
        Glibc.rename(abs(path), outside + "/" + name("o"))
        files.remove(path)
    }

    private mutating func moveIn(into directory: String) {
        let source = outside + "/" + name("i")
        let path = join(directory, name("m"))
        if Bool.random(using: &random) {
            writeFile(source, content())
            files.insert(path)
        } else {
            mkdir(source, 0o755)
            writeFile(source + "/inner", content())
            mkdir(source + "/deeper", 0o755)
            writeFile(source + "/deeper/x", content())
            directories.formUnion([path, path + "/deeper"])
            files.formUnion([path + "/inner", path + "/deeper/x"])
        }
        record("move-in \(path)")
        Glibc.rename(source, abs(path))
    }

    private mutating func remove(_ path: String) {
        record("delete \(path)")
        unlink(abs(path))
        files.remove(path)
    }

    private mutating func removeTree(_ path: String) {
        record("delete-tree \(path)")
        try? FileManager.default.removeItem(atPath: abs(path))
        files = files.filter { $0 != path && !$0.hasPrefix(path + "/") }
        directories = directories.filter { $0 != path && !$0.hasPrefix(path + "/") }
    }

    private mutating func changeMode(_ path: String, _ modes: [mode_t]) {
        let mode = modes.randomElement(using: &random)!
        record("chmod \(path) \(String(mode, radix: 8))")
        chmod(abs(path), mode)
    }

    private mutating func nestedMkdir(in directory: String) {
        let first = join(directory, name("n"))
        let second = join(first, name("n"))
        let path = join(second, name("n"))
        record("mkdir -p \(path)")
        try? FileManager.default.createDirectory(atPath: abs(path), withIntermediateDirectories: true)
        directories.formUnion([first, second, path])
        if Bool.random(using: &random) {
            writeFile(abs(path) + "/leaf", content())
            files.insert(path + "/leaf")
        }
    }

    private mutating func ignored(in directory: String) {
        let path =
            Bool.random(using: &random) ? join(directory, name("x") + ".log") : join(directory, "build/" + name("b"))
        record("ignored \(path)")
        try? FileManager.default.createDirectory(
            atPath: abs(DestinationIndex.split(path).parent), withIntermediateDirectories: true)
        writeFile(abs(path), content())
    }

    private mutating func link(in directory: String, files: [String]) {
        let path = join(directory, name("l"))
        let depth = directory.isEmpty ? 0 : directory.split(separator: "/").count
        let target: String
        if let file = maybe(files), Bool.random(using: &random) {
            target = String(repeating: "../", count: depth) + file
        } else {
            target =
                Bool.random(using: &random) ? "/etc/hostname" : String(repeating: "../", count: depth + 1) + "escape"
        }
        record("symlink \(path) -> \(target)")
        symlink(target, abs(path))
    }

    // MARK: Helpers

    private mutating func record(_ line: String) { log.append(line) }

    private mutating func name(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)\(counter)"
    }

    private mutating func content() -> String {
        let length = Int.random(in: 0..<200, using: &random)
        return String((0..<length).map { _ in Character(UnicodeScalar(UInt8.random(in: 97...122, using: &random))) })
    }

    private mutating func pick(_ items: [String]) -> String { items.randomElement(using: &random) ?? "" }

    private mutating func maybe(_ items: [String]) -> String? { items.randomElement(using: &random) }

    private func abs(_ path: String) -> String { path.isEmpty ? root : root + "/" + path }

    private func join(_ a: String, _ b: String) -> String { DirectoryReader.join(a, b) }
}
