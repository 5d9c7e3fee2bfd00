import Foundation
import Glibc
import ProcessTestSupport
import Testing

@testable import DevLoop

/// Seeded fuzzing of the parsers that read what others wrote: the config loader, the ignore matcher,
/// the WebSocket frame parser, the inotify event decoder, and the tar writer against GNU tar's reading.
/// A failure prints its seed; `DEVLOOP_FUZZ_SEED` replays it, `DEVLOOP_FUZZ_SCALE` runs more rounds
/// (a crash kills the test process, which the test command reports as a failed group).
@Suite struct FuzzTests {
    static let seed: UInt64 =
        ProcessInfo.processInfo.environment["DEVLOOP_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20_261_201
    static let scale: Int = ProcessInfo.processInfo.environment["DEVLOOP_FUZZ_SCALE"].flatMap { Int($0) } ?? 1

    static var shippedConfig: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("dev/devloop.yaml"), encoding: .utf8)) ?? ""
    }

    /// Mutations of the shipped config: each loads, or fails with a ConfigError naming the file.
    @Test func configLoaderRefusesMutationsWithItsOwnErrors() throws {
        var random = SeededRandom(seed: Self.seed)
        let base = Array(Self.shippedConfig.utf8)
        try #require(!base.isEmpty, "dev/devloop.yaml not found")
        let specials = Array(":-[]{}#&*!|>'\"%@`,?\n\t \\\u{0}".utf8) + [0xFF, 0xC3]
        var refused = 0
        for round in 0..<(1500 * Self.scale) {
            var bytes = base
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                let at = Int.random(in: 0..<max(bytes.count, 1), using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0 where !bytes.isEmpty: bytes[at] = specials.randomElement(using: &random)!
                case 1: bytes.insert(specials.randomElement(using: &random)!, at: at)
                case 2 where !bytes.isEmpty: bytes.remove(at: at)
                case 3: bytes = Array(bytes.prefix(at))
                default:
                    let end = min(bytes.count, at + Int.random(in: 1...80, using: &random))
                    bytes.insert(contentsOf: bytes[at..<end], at: at)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                _ = try ConfigLoader.load(yaml: text, file: "fuzz.yaml")
            } catch let error as ConfigError {
                refused += 1
                #expect("\(error)".contains("fuzz.yaml"), "seed \(Self.seed) round \(round): \(error)")
            } catch {
                Issue.record("seed \(Self.seed) round \(round): not a ConfigError: \(error)\n\(text)")
            }
        }
        #expect(refused > 0)
    }

    /// Frames cut at random places parse back as sent; random bytes parse or throw, never crash.
    @Test func webSocketFramesRoundTripAndGarbageIsRefused() throws {
        var random = SeededRandom(seed: Self.seed)
        let opcodes: [WebSocketOpcode] = [.binary, .text, .ping, .pong, .close, .continuation]
        for round in 0..<(300 * Self.scale) {
            var frames: [WebSocketFrame] = []
            var wire = Data()
            for _ in 0..<Int.random(in: 1...5, using: &random) {
                let size = [0, 1, 125, 126, 127, 65535, 65536, Int.random(in: 0...70_000, using: &random)]
                    .randomElement(using: &random)!
                let payload = Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &random) })
                let frame = WebSocketFrame(
                    fin: Bool.random(using: &random), opcode: opcodes.randomElement(using: &random)!, payload: payload)
                frames.append(frame)
                wire += frame.encoded(
                    maskKey: Bool.random(using: &random) ? UInt32.random(in: 0...UInt32.max, using: &random) : nil)
            }
            var parser = WebSocketFrameParser()
            var parsed: [WebSocketFrame] = []
            var offset = 0
            while offset < wire.count {
                let end = min(wire.count, offset + Int.random(in: 1...9000, using: &random))
                parser.append(wire.subdata(in: offset..<end))
                offset = end
                while let frame = try parser.next() { parsed.append(frame) }
            }
            #expect(parsed == frames, "seed \(Self.seed) round \(round)")
        }
        for _ in 0..<(2000 * Self.scale) {
            var parser = WebSocketFrameParser()
            parser.append(
                Data(
                    (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
            )
            while (try? parser.next()) ?? nil != nil {}
        }
    }

    /// Well-formed event records decode as written; truncated and lying records never read past the buffer.
    @Test func inotifyRecordsDecodeAndTruncationIsSafe() {
        var random = SeededRandom(seed: Self.seed)
        for round in 0..<(500 * Self.scale) {
            var expected: [(Int32, UInt32, UInt32, String)] = []
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...8, using: &random) {
                let name = String(
                    (0..<Int.random(in: 0...20, using: &random)).map { _ in "aé🙂 x.-".randomElement(using: &random)! })
                let wd = Int32.random(in: 1...1000, using: &random)
                let mask = UInt32.random(in: 0...UInt32.max, using: &random)
                let cookie = UInt32.random(in: 0...UInt32.max, using: &random)
                var nameBytes = Array(name.utf8)
                if !nameBytes.isEmpty { nameBytes += [UInt8](repeating: 0, count: 16 - nameBytes.count % 16) }
                withUnsafeBytes(of: wd.littleEndian) { bytes += $0 }
                withUnsafeBytes(of: mask.littleEndian) { bytes += $0 }
                withUnsafeBytes(of: cookie.littleEndian) { bytes += $0 }
                withUnsafeBytes(of: UInt32(nameBytes.count).littleEndian) { bytes += $0 }
                bytes += nameBytes
                expected.append((wd, mask, cookie, name))
            }
            let decoded = bytes.withUnsafeBytes { Inotify.decode($0) }
            #expect(
                decoded.map { "\($0.wd) \($0.mask) \($0.cookie) \($0.name)" }
                    == expected.map { "\($0.0) \($0.1) \($0.2) \($0.3)" }, "seed \(Self.seed) round \(round)")
            if !bytes.isEmpty {
                var damaged = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random)))
                if damaged.count >= 16, Bool.random(using: &random) {
                    damaged[12] = 0xFF
                    damaged[15] = 0x7F
                }
                let survivors = damaged.withUnsafeBytes { Inotify.decode($0) }
                #expect(survivors.count <= decoded.count)
            }
        }
    }

    /// Random patterns and paths: the matcher answers (and answers the same twice), never crashes.
    @Test func ignorePatternsNeverCrash() {
        var random = SeededRandom(seed: Self.seed)
        let alphabet = Array("ab*?[]!/\\.-^ #\n")
        for _ in 0..<(3000 * Self.scale) {
            let line = String(
                (0..<Int.random(in: 0...14, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            guard let pattern = IgnorePattern(line: Substring(line), base: "") else { continue }
            let path = Array(
                String(
                    (0..<Int.random(in: 1...12, using: &random)).map { _ in "ab./[]".randomElement(using: &random)! }
                ).utf8)
            let nameStart = path.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0
            let isDirectory = Bool.random(using: &random)
            let first = pattern.matches(path: path, name: path[nameStart...], isDirectory: isDirectory)
            #expect(first == pattern.matches(path: path, name: path[nameStart...], isDirectory: isDirectory))
        }
    }

    /// Archives of random trees (long, unicode and odd names; modes; links) extract with GNU tar to
    /// exactly what was written.
    @Test func tarArchivesExtractWithGNUTarAsWritten() async throws {
        var random = SeededRandom(seed: Self.seed)
        let pieces = [
            "a", "é", "日本", "🙂", " ", "-", ".x", "#", "'", "\"", "$(x)", "long" + String(repeating: "n", count: 90),
        ]
        for round in 0..<(12 * Self.scale) {
            let dir = TempDir("devloop-fuzz-tar")
            defer { dir.remove() }
            var tar = TarWriter()
            var expected: [String: String] = [:]
            var directories = [""]
            for index in 0..<Int.random(in: 1...40, using: &random) {
                let parent = directories.randomElement(using: &random)!
                var name = (0..<Int.random(in: 1...4, using: &random)).map { _ in pieces.randomElement(using: &random)!
                }
                .joined()
                name = String(name.utf8.prefix(200)) ?? "n"
                name += "\(index)"
                let path = parent.isEmpty ? name : parent + "/" + name
                switch Int.random(in: 0..<4, using: &random) {
                case 0:
                    tar.addDirectory(path, mode: 0o755, mtime: 1_700_000_000)
                    directories.append(path)
                    expected[path] = "dir"
                case 1:
                    tar.addSymlink(path, target: "../t\(index)", mtime: 1_700_000_000)
                    expected[path] = "link ../t\(index)"
                default:
                    let content = Data(
                        (0..<Int.random(in: 0...3000, using: &random)).map { _ in
                            UInt8.random(in: 0...255, using: &random)
                        })
                    let mode: UInt32 = [0o644, 0o600, 0o755].randomElement(using: &random)!
                    tar.addFile(path, mode: mode, mtime: 1_700_000_000, content: content)
                    expected[path] = "file \(String(mode, radix: 8)) \(content.count) \(content.hashValue)"
                }
            }
            let archive = dir.path + "/archive.tar"
            try tar.finished().write(to: URL(fileURLWithPath: archive))
            let out = dir.sub("out")
            let tarProcess = Process()
            tarProcess.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            tarProcess.arguments = ["tar", "-xf", archive, "-C", out, "--no-same-owner"]
            tarProcess.standardOutput = FileHandle.nullDevice
            tarProcess.standardError = FileHandle.nullDevice
            #expect(
                try await tarProcess.runToEnd().status == 0,
                "seed \(Self.seed) round \(round): GNU tar refused the archive")
            var found: [String: String] = [:]
            var stack = [""]
            while let folder = stack.popLast() {
                for (name, _) in DirectoryReader.entries(of: folder.isEmpty ? out : out + "/" + folder) {
                    let path = DirectoryReader.join(folder, name)
                    guard let entry = LocalEntry.stat(out + "/" + path) else { continue }
                    switch entry.kind {
                    case .directory:
                        found[path] = "dir"
                        stack.append(path)
                    case .symlink: found[path] = "link \(entry.target ?? "")"
                    case .file:
                        let content = FileManager.default.contents(atPath: out + "/" + path) ?? Data()
                        found[path] = "file \(String(entry.mode, radix: 8)) \(content.count) \(content.hashValue)"
                    case .other: found[path] = "other"
                    }
                }
            }
            #expect(found == expected, "seed \(Self.seed) round \(round)")
        }
    }
}
