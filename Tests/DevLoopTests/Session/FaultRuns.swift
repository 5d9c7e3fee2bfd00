import Foundation
import Testing

/// How often each fault is repeated and how its recovery times are reported: a few runs in the test
/// command, many under `DEVLOOP_SOAK=1` (whose suites get a longer time limit to match).
enum FaultRuns {
    static var soak: Bool { ProcessInfo.processInfo.environment["DEVLOOP_SOAK"] == "1" }
    static var count: Int { soak ? 12 : 3 }
    static var timeLimit: TimeLimitTrait { .timeLimit(.minutes(soak ? 40 : 5)) }
}

/// The recovery times of one fault over its runs: printed as median and max, with what was lost.
struct RecoveryFigures {
    let fault: String
    private(set) var samples: [Duration] = []

    init(_ fault: String) { self.fault = fault }

    mutating func add(_ sample: Duration) { samples.append(sample) }

    var median: Duration {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return .zero }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    var max: Duration { samples.max() ?? .zero }

    /// `fault NAME: recovery median 1.2 s, max 1.9 s over 3 runs; lost: nothing`.
    func report(lost: String = "nothing") -> String {
        "fault \(fault): recovery median \(Self.seconds(median)), max \(Self.seconds(max)) over \(samples.count) runs"
            + "; lost: \(lost)"
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}

/// The recovery times of one fault measured to several things at once (the watch, the forward, the
/// logs...), each over the runs: one report line per thing.
struct RecoveryTable {
    private(set) var figures: [RecoveryFigures]

    init(_ fault: String, _ measures: [String]) {
        figures = measures.map { RecoveryFigures("\(fault), \($0)") }
    }

    /// One sample per measure, in the order of `measures`.
    mutating func add(_ samples: [Duration]) {
        for (index, sample) in zip(figures.indices, samples) { figures[index].add(sample) }
    }

    func report(lost: [String]) -> String {
        let what = lost.isEmpty ? "nothing" : lost.joined(separator: "; ")
        return figures.map { $0.report(lost: what) }.joined(separator: "\n")
    }
}
