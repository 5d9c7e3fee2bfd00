import ArgumentParser
import DevLoop
import Foundation

/// Measures starting a watcher on a big tree in a child process, so its peak RSS (VmHWM) is the
/// watcher's alone.
struct WatchStartProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch-start-probe", abstract: "Internal: start watching ROOT, print seconds and VmHWM.",
        shouldDisplay: false)

    @Argument var root: String

    func run() async throws {
        let start = ContinuousClock.now
        let watcher = try TreeWatcher(root: root) { _ in }
        try await watcher.start()
        let elapsed = start.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let hwm =
            status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }?
            .split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0
        print("\(seconds) \(hwm / 1024) \(watcher.watchCount)")
        await watcher.stop()
    }

    static func measureInChild(work: String, files: Int) throws -> [Figure] {
        let directories = max(1, files / 10)
        try BenchTree.make(root: work, directories: directories, filesPerDirectory: 10, bytes: 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["watch-start-probe", work]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let fields = text.split(separator: " ").compactMap {
            Double($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        guard process.terminationStatus == 0, fields.count == 3 else {
            throw BenchError("watch-start-probe failed: \(text)")
        }
        return [
            .single("watch: start \(files) files / \(directories) dirs", fields[0] * 1_000, unit: "ms"),
            .single("watch: start peak RSS (VmHWM), \(files) files", fields[1], unit: "MB"),
            .single("watch: directories watched, \(files) files", fields[2], unit: "dirs"),
        ]
    }
}
