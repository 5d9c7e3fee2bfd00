import Foundation

/// A distribution's summary: what every figure reports, for devloop and for its baseline.
struct Stats: Codable, Sendable {
    var median: Double
    var p99: Double
    var min: Double
    var max: Double
    var n: Int

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        func quantile(_ q: Double) -> Double {
            sorted.isEmpty ? .nan : sorted[Swift.min(sorted.count - 1, Int(Double(sorted.count) * q))]
        }
        // The mean of the middle two for an even count: with two samples, the upper one would be a max.
        let middle = sorted.count / 2
        median =
            sorted.isEmpty ? .nan : sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        p99 = quantile(0.99)
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
        n = sorted.count
    }
}

/// One figure of a run. `baseline` is the same measurement of the hand-made kubectl way, taken
/// interleaved with devloop's in the same run; `ratio` is devloop's median over the baseline's.
struct Figure: Codable, Sendable {
    var name: String
    var unit: String
    var median: Double
    var p99: Double
    var min: Double
    var max: Double
    var n: Int
    var baseline: Stats?
    var ratio: Double?

    init(_ name: String, _ samples: [Double], unit: String, baseline: [Double]? = nil) {
        let stats = Stats(samples)
        self.name = name
        self.unit = unit
        median = stats.median
        p99 = stats.p99
        min = stats.min
        max = stats.max
        n = stats.n
        if let baseline {
            let base = Stats(baseline)
            self.baseline = base
            ratio = base.median == 0 ? nil : stats.median / base.median
        }
    }

    /// A single measured value (n = 1).
    static func single(_ name: String, _ value: Double, unit: String, baseline: Double? = nil) -> Figure {
        Figure(name, [value], unit: unit, baseline: baseline.map { [$0] })
    }

    static let tableHeader = String(
        format: "%-52@ %10@ %10@ %6@ %10@ %10@ %7@", "figure" as NSString, "median" as NSString, "p99" as NSString,
        "n" as NSString, "kubectl" as NSString, "k. p99" as NSString, "ratio" as NSString)

    var text: String {
        let label = "\(name) [\(unit)]" as NSString
        var line = String(format: "%-52@ %10.3f %10.3f %6d", label, median, p99, n)
        if let baseline {
            line += String(format: " %10.3f %10.3f", baseline.median, baseline.p99)
            if let ratio { line += String(format: " %6.2fx", ratio) }
        }
        return line
    }

    /// A Markdown table row (docs/performance.md).
    var markdown: String {
        func f(_ value: Double) -> String { value.isNaN ? "" : String(format: value >= 100 ? "%.0f" : "%.3g", value) }
        let base = baseline.map { "\(f($0.median)) / \(f($0.p99))" } ?? ""
        let ratio = ratio.map { String(format: "%.2fx", $0) } ?? ""
        return "| \(name) | \(unit) | \(f(median)) / \(f(p99)) | \(n) | \(base) | \(ratio) |"
    }
}

/// Collects figures, prints each as it comes (the table, or with --json progress on stderr), and
/// writes the JSON list and the SVG at the end.
final class Report: @unchecked Sendable {
    let json: Bool
    private let lock = NSLock()
    private var collected: [Figure] = []

    init(json: Bool) {
        self.json = json
        if !json { Self.emit(Figure.tableHeader) }
    }

    var figures: [Figure] { lock.withLock { collected } }

    func add(_ figure: Figure) {
        lock.withLock { collected.append(figure) }
        if json { note(figure.text) } else { Self.emit(figure.text) }
    }

    func add(_ figures: [Figure]) { figures.forEach(add) }

    /// A progress line: stderr, so that --json output stays one JSON document.
    func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Runs one scenario and notes how long it took (stderr), so that a slow smoke run shows where.
    func timed(_ scenario: String, _ body: () async throws -> Void) async throws {
        let start = ContinuousClock.now
        try await body()
        note("\(scenario): scenario done in " + String(format: "%.1f s", milliseconds(since: start) / 1_000))
    }

    /// Unbuffered, so that a line shows as soon as its scenario ends even through a pipe.
    static func emit(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

    func finish(svg: String?) throws {
        if json { Self.emit(String(decoding: try Self.encode(figures), as: UTF8.self)) }
        if let svg { try Data(Chart.svg(figures).utf8).write(to: URL(fileURLWithPath: svg)) }
    }

    static func encode(_ figures: [Figure]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(figures)
    }

    static func decode(_ data: Data) throws -> [Figure] {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode([Figure].self, from: data)
    }
}

/// Milliseconds since `start`.
func milliseconds(since start: ContinuousClock.Instant) -> Double {
    milliseconds(ContinuousClock.now - start)
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
}
