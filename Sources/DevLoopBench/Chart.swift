import Foundation

/// The SVG of a run: save -> serving per scenario, devloop beside the hand-made kubectl loop
/// (median bar, p99 whisker), with the fixed waits other tools build in drawn for reference.
enum Chart {
    static let prefix = "save -> serving: "
    static let anchors: [(ms: Double, label: String)] = [
        (200, "Tilt: 200 ms debounce"), (600, "DevSpace: 600 ms upload tick"), (1_000, "Skaffold: 1 s poll"),
    ]

    static let axisCut = 3_000.0

    static func svg(_ figures: [Figure]) -> String {
        let scenarios = figures.filter { $0.name.hasPrefix(prefix) && $0.unit == "ms" }
        let width = 960.0
        let left = 270.0
        let right = 150.0
        let top = 60.0
        let barHeight = 18.0
        let groupHeight = 64.0
        let plotHeight = max(1, Double(scenarios.count)) * groupHeight
        let height = top + plotHeight + 70
        // A rebuild's seconds would flatten every other bar: the axis ends past the largest value under
        // `axisCut`, and a longer bar is drawn cut, with its value written out.
        let largest = scenarios.flatMap { [$0.p99, $0.baseline?.p99 ?? 0] }.filter { $0 <= axisCut }.max() ?? 0
        let scaleMax = niceCeiling(max(1_100, largest * 1.05))
        func x(_ ms: Double) -> Double { left + (width - left - right) * min(ms, scaleMax) / scaleMax }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="22" font-size="15" font-weight="bold">save → serving (median, whisker to p99; lower is better)</text>
            <rect x="\(left)" y="32" width="12" height="12" fill="#2b7bba"/>
            <text x="\(left + 17)" y="42">devloop</text>
            <rect x="\(left + 90)" y="32" width="12" height="12" fill="#b0b0b0"/>
            <text x="\(left + 107)" y="42">by hand: kubectl cp + kubectl exec + kubectl port-forward</text>

            """
        let axisY = top + plotHeight
        for tick in ticks(scaleMax) {
            out += line(x(tick), top - 4, x(tick), axisY, stroke: "#e4e4e4")
            out += text(x(tick), axisY + 16, "\(Int(tick)) ms", anchor: "middle", fill: "#555")
        }
        out += line(left, axisY, width - right, axisY, stroke: "#333")
        for (index, anchor) in anchors.enumerated() where anchor.ms <= scaleMax {
            out += line(x(anchor.ms), top - 4, x(anchor.ms), axisY, stroke: "#d9822b", dash: true)
            out += text(x(anchor.ms) + 3, axisY + 32 + Double(index) * 13, anchor.label, fill: "#d9822b")
        }
        for (index, figure) in scenarios.enumerated() {
            let y = top + Double(index) * groupHeight + 8
            out += text(left - 8, y + barHeight + 4, String(figure.name.dropFirst(prefix.count)), anchor: "end")
            out += bar(y, Stats(figure), fill: "#2b7bba", x: x, cutAt: scaleMax)
            if let baseline = figure.baseline {
                out += bar(y + barHeight + 4, baseline, fill: "#b0b0b0", x: x, cutAt: scaleMax)
            }
        }
        if scenarios.isEmpty { out += text(left, top + 30, "no save -> serving figures in this run") }
        return out + "</svg>\n"
    }

    private static func bar(_ y: Double, _ stats: Stats, fill: String, x: (Double) -> Double, cutAt scaleMax: Double)
        -> String
    {
        let origin = x(0)
        var out =
            "<rect x=\"\(f(origin))\" y=\"\(f(y))\" width=\"\(f(max(1, x(stats.median) - origin)))\" height=\"18\" fill=\"\(fill)\"/>\n"
        guard stats.median <= scaleMax else {
            // The axis is cut: a white break across the bar's end, then the value in seconds.
            let end = x(scaleMax)
            out +=
                "<path d=\"M\(f(end - 16)) \(f(y + 20)) l8 -22 M\(f(end - 9)) \(f(y + 20)) l8 -22\" stroke=\"white\" stroke-width=\"3\"/>\n"
            out += text(
                end + 5, y + 13, String(format: "%.1f s (p99 %.1f s)", stats.median / 1e3, stats.p99 / 1e3))
            return out
        }
        out += line(x(stats.median), y + 9, x(stats.p99), y + 9, stroke: "#333")
        out += line(x(stats.p99), y + 4, x(stats.p99), y + 14, stroke: "#333")
        out += text(
            max(x(stats.median), x(stats.p99)) + 5, y + 13,
            String(format: "%.0f ms (p99 %.0f)", stats.median, stats.p99))
        return out
    }

    private static func niceCeiling(_ value: Double) -> Double {
        let step = value <= 2_000 ? 200.0 : value <= 5_000 ? 500 : 1_000
        return (value / step).rounded(.up) * step
    }

    private static func ticks(_ scaleMax: Double) -> [Double] {
        let step = scaleMax <= 2_000 ? 200.0 : scaleMax <= 5_000 ? 500 : 1_000
        return stride(from: 0, through: scaleMax, by: step).map { $0 }
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    private static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, dash: Bool = false)
        -> String
    {
        "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(stroke)\""
            + (dash ? " stroke-dasharray=\"5,4\" stroke-width=\"1.5\"" : "") + "/>\n"
    }

    private static func text(
        _ x: Double, _ y: Double, _ content: String, anchor: String = "start", fill: String = "#222"
    )
        -> String
    {
        let escaped = content.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "->", with: "→")
        return "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\" fill=\"\(fill)\">\(escaped)</text>\n"
    }
}

extension Stats {
    init(_ figure: Figure) {
        self.init([])
        median = figure.median
        p99 = figure.p99
        min = figure.min
        max = figure.max
        n = figure.n
    }
}
