import ArgumentParser
import DevLoop
import Foundation

@main
struct DevLoopBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devloop-bench",
        abstract: "Benchmarks that print figures.",
        subcommands: [SyncBench.self, WatchStartProbe.self])
}

/// One figure: a distribution (median, p99) or a single value.
struct Figure: Encodable {
    var name: String
    var median: Double?
    var p99: Double?
    var value: Double?
    var unit: String

    static func distribution(_ name: String, _ samples: [Double], unit: String) -> Figure {
        let sorted = samples.sorted()
        func quantile(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
        return Figure(name: name, median: quantile(0.5), p99: quantile(0.99), unit: unit)
    }

    static func single(_ name: String, _ value: Double, unit: String) -> Figure {
        Figure(name: name, value: value, unit: unit)
    }

    var text: String {
        if let median, let p99 {
            return String(format: "%-34@ median %9.3f %@   p99 %9.3f %@", name as NSString, median, unit, p99, unit)
        }
        return String(format: "%-34@ %9.3f %@", name as NSString, value ?? 0, unit)
    }
}

struct SyncBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Sync engine: edit latency, watch start, initial sync, idle CPU.")

    @Flag(help: "Print a JSON list of {name, median, p99, unit} / {name, value, unit}.") var json = false
    @Option(help: "Edits for the latency figure.") var edits = 1_000
    @Option(help: "Files in the watch-start tree (in files/10 directories).") var watchFiles = 100_000
    @Option(help: "Files in the initial-sync tree (10 KiB each).") var syncFiles = 10_000
    @Option(help: "Seconds of idle for the CPU figure.") var idleSeconds = 5.0

    func run() async throws {
        let work = try BenchTree.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        var figures: [Figure] = []
        func report(_ figure: Figure) {
            figures.append(figure)
            if !json { print(figure.text) }
        }
        for figure in try await SyncBenchmarks.editLatency(work: work + "/latency", edits: edits) { report(figure) }
        for figure in try WatchStartProbe.measureInChild(work: work + "/watch", files: watchFiles) { report(figure) }
        for figure in try await SyncBenchmarks.initialSync(work: work + "/initial", files: syncFiles) { report(figure) }
        for figure in try await SyncBenchmarks.idleCPU(work: work + "/idle", seconds: idleSeconds) { report(figure) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(figures), as: UTF8.self))
        }
    }
}
