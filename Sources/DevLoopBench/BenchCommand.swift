import ArgumentParser
import DevLoop
import Foundation

@main
struct DevLoopBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devloop-bench",
        abstract: "Benchmarks of devloop beside the hand-made kubectl loop, on a kubesim the bench starts.",
        subcommands: [
            AllBench.self, SyncBench.self, ForwardBench.self, LoopBench.self, WatchBench.self, ChartCommand.self,
            TableCommand.self, WatchStartProbe.self,
        ])
}

struct BenchOptions: ParsableArguments {
    @Flag(help: "Print a JSON list of {name, unit, median, p99, min, max, n, baseline?, ratio?}; progress on stderr.")
    var json = false
    @Flag(
        help: "Fewer samples and smaller trees, no web app build: the smoke run of the test command (under 2 minutes).")
    var quick = false
    @Option(help: "Also write the SVG chart of the run to this file.") var svg: String?

    /// Runs `body` with a report, then prints the JSON and writes the chart.
    func run(_ body: (Report) async throws -> Void) async throws {
        let report = Report(json: json)
        try await body(report)
        try report.finish(svg: svg)
    }
}

/// Every scenario, in one run: the figures the README's Performance section shows.
struct AllBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "all", abstract: "sync, forward, loop and watch.")
    @OptionGroup var options: BenchOptions

    func run() async throws {
        try await options.run { report in
            let quick = options.quick
            try await report.timed("sync") { try await Scenarios.sync(report, quick: quick) }
            try await report.timed("forward") { try await ForwardBenchmarks(quick: quick, report: report).run() }
            try await report.timed("loop") { try await Scenarios.loop(report, quick: quick, webAppEdits: 3) }
            try await report.timed("watch") { try await Scenarios.watch(report, quick: quick) }
        }
    }
}

struct ForwardBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "devloop's forward beside kubectl port-forward: latency, throughput, concurrency, pod replacement.")
    @OptionGroup var options: BenchOptions

    func run() async throws {
        try await options.run { try await ForwardBenchmarks(quick: options.quick, report: $0).run() }
    }
}

struct LoopBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loop",
        abstract: "save -> new response through `devloop up --sim`, beside kubectl cp/exec; the web app's Swift edit.")
    @OptionGroup var options: BenchOptions
    @Option(help: "Swift edits of the shipped web app (default 3; none with --quick).") var webAppEdits = 3
    @Flag(help: "Only the web app's Swift edits: skip the fixture server's edits and the hand-made loop.")
    var webAppOnly = false

    func validate() throws {
        if webAppOnly && (options.quick || webAppEdits < 1) {
            throw ValidationError("--web-app-only needs --web-app-edits of at least 1 and no --quick")
        }
    }

    func run() async throws {
        try await options.run {
            try await Scenarios.loop($0, quick: options.quick, webAppEdits: webAppEdits, fixture: !webAppOnly)
        }
    }
}

struct WatchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Watcher start time and peak RSS on big trees, idle CPU.")
    @OptionGroup var options: BenchOptions

    func run() async throws {
        try await options.run { try await Scenarios.watch($0, quick: options.quick) }
    }
}

struct SyncBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Sync over HostPath and exec+tar beside kubectl cp: edits, a 1,000-file burst, initial sync, re-sync."
    )
    @OptionGroup var options: BenchOptions
    @Option(help: "Edits for each latency figure (default 1000; --quick 200 over HostPath, 10 over exec+tar).")
    var edits: Int?
    @Option(help: "Files in the initial-sync tree, 10 KiB each (default 10000, --quick 200).") var syncFiles: Int?

    func run() async throws {
        try await options.run {
            try await Scenarios.sync($0, quick: options.quick, edits: edits, files: syncFiles)
        }
    }
}

/// `devloop-bench chart results.json > docs/perf.svg`: the SVG of a run's JSON.
struct ChartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chart", abstract: "Draw the SVG chart of a `--json` run (save -> serving per scenario).")
    @Argument(help: "The JSON a `--json` run printed.") var results: String

    func run() async throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: results))
        print(Chart.svg(try Report.decode(data)))
    }
}

/// `devloop-bench table results.json`: the Markdown table of a `--json` run (docs/performance.md).
struct TableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table", abstract: "Print the Markdown table of a `--json` run.")
    @Argument(help: "The JSON a `--json` run printed.") var results: String

    func run() async throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: results))
        print("| figure | unit | devloop median / p99 | n | kubectl median / p99 | ratio |")
        print("| --- | --- | --- | --- | --- | --- |")
        for figure in try Report.decode(data) { print(figure.markdown) }
    }
}

enum Scenarios {
    static func sync(_ report: Report, quick: Bool, edits: Int? = nil, files: Int? = nil) async throws {
        let work = try BenchTree.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        report.add(
            try await SyncBenchmarks.editLatency(work: work + "/latency", edits: edits ?? (quick ? 200 : 1_000)))
        try await BenchCluster.run { cluster in
            let pod = try await SyncPod.start(in: cluster)
            report.add(
                try await PodSyncBenchmarks.editLatency(pod: pod, work: work, edits: edits ?? (quick ? 10 : 1_000)))
            report.add(try await PodSyncBenchmarks.execRoundTrip(pod: pod, count: quick ? 10 : 200))
            report.add(
                try await PodSyncBenchmarks.burst(
                    pod: pod, work: work, files: quick ? 200 : 1_000, samples: quick ? 1 : 5))
            report.add(
                try await PodSyncBenchmarks.initialSync(
                    pod: pod, work: work, files: files ?? (quick ? 200 : 10_000), samples: quick ? 1 : 2))
        }
    }

    /// The fixture's loop, then (not with --quick) the shipped web app's Swift edit.
    static func loop(_ report: Report, quick: Bool, webAppEdits: Int, fixture: Bool = true) async throws {
        if fixture { try await LoopBenchmarks(quick: quick, report: report).run() }
        if quick {
            report.note(
                "loop: the shipped web app's Swift edit skipped with --quick: it builds the app in a pod (10-20 s an edit, "
                    + "5-20 min on a cold build cache); `devloop-bench loop` or `all` runs it")
        } else if webAppEdits > 0 {
            try await WebAppLoopBenchmark(samples: webAppEdits, report: report).run()
        }
    }

    static func watch(_ report: Report, quick: Bool) async throws {
        let work = try BenchTree.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        for files in quick ? [10_000] : [10_000, 100_000] {
            report.add(try WatchStartProbe.measureInChild(work: work + "/watch\(files)", files: files))
        }
        report.add(try await SyncBenchmarks.idleCPU(work: work + "/idle", seconds: quick ? 5 : 60))
    }
}
