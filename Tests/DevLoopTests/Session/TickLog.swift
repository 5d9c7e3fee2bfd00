import Foundation
import Testing

/// The numbered lines of `FixtureProject.tickingCommand` as `devloop up` printed them
/// (`pod/app | tick BOOT N`): per boot of the container, the numbers in the order they came. A cut
/// stream that lost a line shows as a gap, one that delivered a line twice as a repeat.
struct TickLog {
    private(set) var boots: [(boot: String, numbers: [Int])] = []

    init(_ output: String) {
        for line in output.split(separator: "\n") {
            guard let range = line.range(of: "| tick ") else { continue }
            let words = line[range.upperBound...].split(separator: " ")
            guard words.count == 2, let number = Int(words[1]) else { continue }
            let boot = String(words[0])
            if boots.last?.boot == boot {
                boots[boots.count - 1].numbers.append(number)
            } else {
                boots.append((boot, [number]))
            }
        }
    }

    /// What is wrong, empty when nothing: within each boot every number once and in order; a boot seen
    /// again after another one, or a later boot not starting at 1, is a lost or repeated line too.
    var problems: [String] {
        var problems: [String] = []
        var seen = Set<String>()
        for (index, entry) in boots.enumerated() {
            if !seen.insert(entry.boot).inserted { problems.append("boot \(entry.boot) again after another boot") }
            if index > 0, entry.numbers.first != 1 {
                problems.append("boot \(entry.boot) starts at \(entry.numbers.first ?? 0), not 1")
            }
            let first = entry.numbers.first ?? 1
            let expected = Array(first..<(first + entry.numbers.count))
            if entry.numbers != expected {
                let missing = Set(first...(entry.numbers.max() ?? first)).subtracting(entry.numbers).sorted()
                let repeated = Dictionary(grouping: entry.numbers, by: { $0 }).filter { $0.value.count > 1 }.keys
                    .sorted()
                problems.append("boot \(entry.boot): missing \(missing.prefix(20)), repeated \(repeated.prefix(20))")
            }
        }
        return problems
    }

    /// How many lines came, over all boots.
    var count: Int { boots.reduce(0) { $0 + $1.numbers.count } }

    /// The container's boot and the number of the line it wrote last, from its /state/last.
    static func lastWritten(_ project: FixtureProject) throws -> (boot: String, last: Int) {
        let text = try String(contentsOfFile: project.statePath + "/last", encoding: .utf8)
        let words = text.split(whereSeparator: \.isWhitespace)
        guard words.count == 2, let last = Int(words[1]) else {
            Issue.record("/state/last holds \(text)")
            throw CancellationError()
        }
        return (String(words[0]), last)
    }
}
