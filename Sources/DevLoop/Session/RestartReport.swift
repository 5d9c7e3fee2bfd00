/// The stderr of dev/supervisor.sh's `restart`, split where the script reports its build: the build's
/// errors, its exit status and time (measured in the pod, in hundredths of a second), then the swap's
/// messages.
struct RestartReport: Equatable {
    var buildErrors: String
    var buildStatus: Int32
    var buildDuration: Duration
    var swapErrors: String

    static let marker = "devloop-supervisor: build exited "

    /// Nil when the report line is missing (the build never ran, or a supervisor older than the line).
    init?(stderr: String) {
        guard let markerRange = stderr.range(of: Self.marker, options: .backwards) else { return nil }
        let rest = stderr[markerRange.upperBound...]
        let line = rest.prefix { $0 != "\n" }
        let fields = line.split(separator: " ")
        guard fields.count == 4, fields[1] == "after", fields[3] == "cs", let status = Int32(fields[0]),
            let centiseconds = Int64(fields[2])
        else { return nil }
        buildErrors = String(stderr[..<markerRange.lowerBound])
        buildStatus = status
        buildDuration = .milliseconds(centiseconds * 10)
        swapErrors = String(rest[line.endIndex...].dropFirst())
    }
}
