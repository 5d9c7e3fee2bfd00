import DevLoop
import Foundation
import Testing

/// `devloop logs | less`: a pod that logs as fast as it can meets a reader that stops reading. The
/// stream pauses (libcurl stops reading, kubesim's follower stops reading the log file) instead of
/// buffering: memory stays flat, and when reading resumes the lines go on in order, none lost.
/// Resident memory is the whole process's: the devloop group runs one suite at a time (--no-parallel),
/// since suites side by side would add their own allocations to the figure.
@Suite(.serialized) struct LogBackpressureTests {
    /// Numbered lines of about 8 KB, in bursts of 2 MB: tens of MB a second.
    static let manifest = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: flood
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: flood
          namespace: flood
          labels: {app: flood}
        spec:
          containers:
          - name: app
            image: devloop/test
            command: ["awk", "BEGIN { pad = sprintf(\\"%8000s\\", \\"\\"); for (i = 1; ; i++) { print i pad; if (i % 250 == 0) { fflush(); system(\\"sleep 0.02\\") } } }"]
        """

    static let pause: Duration = .seconds(10)
    static let growthLimit = 16 << 20

    /// Resident memory of this process, from /proc/self/statm (pages).
    static func residentBytes() throws -> Int {
        let statm = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8)
        let fields = statm.split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// How much the pods of `sim` have logged so far (their CRI log files).
    static func loggedBytes(_ sim: KubeSimFixture) -> Int {
        let files = FileManager.default.enumerator(at: sim.directory, includingPropertiesForKeys: [.fileSizeKey])
        return (files?.allObjects as? [URL] ?? []).filter { $0.pathExtension == "log" }.reduce(0) {
            $0 + ((try? $1.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0)
        }
    }

    static func number(_ record: LogRecord) -> Int? {
        Int(record.text.prefix { $0.isNumber })
    }

    @Test(.timeLimit(.minutes(10))) func aReaderThatStopsReadingHoldsMemoryFlatAndLosesNoLine() async throws {
        try await KubeSimFixture.run { sim in
            try await sim.apply(Self.manifest)
            try await sim.waitForRunningPod("flood", "flood")
            let streamer = PodLogStreamer(client: sim.client, namespace: "flood", selector: "app=flood")
            var records = streamer.records().makeAsyncIterator()
            var last = 0
            for _ in 0..<5 {
                let record = try #require(try await records.next())
                let number = try #require(Self.number(record))
                #expect(number == last + 1)
                last = number
            }
            let before = try Self.residentBytes()
            let loggedBefore = Self.loggedBytes(sim)
            // The reader stops reading for `pause` at least, and until the pod has logged well past
            // the bound: a fixed pause under a load of 21 saw only 3 MB logged (run 1 of five).
            let paused = ContinuousClock.now
            try await waitUntil("the pod logs \(2 * Self.growthLimit >> 20) MB", timeout: .seconds(300)) {
                ContinuousClock.now - paused >= Self.pause
                    && Self.loggedBytes(sim) - loggedBefore > 2 * Self.growthLimit
            }
            let grown = try Self.residentBytes() - before
            let logged = Self.loggedBytes(sim) - loggedBefore
            // Else the bound below proves nothing: the pod must log well past it while nobody reads.
            #expect(logged > 2 * Self.growthLimit, "the pod logged only \(logged >> 20) MB during the pause")
            #expect(
                grown < Self.growthLimit,
                "resident memory grew by \(grown >> 20) MB while the pod logged \(logged >> 20) MB and the reader did not read for \(ContinuousClock.now - paused)"
            )
            // Reading again: every line follows its predecessor, across the pause and well past it.
            var gaps: [String] = []
            for _ in 0..<3_000 {
                let record = try #require(try await records.next())
                guard let number = Self.number(record) else {
                    gaps.append("unnumbered line after \(last)")
                    break
                }
                if number != last + 1 { gaps.append("\(last) then \(number)") }
                last = number
                if gaps.count > 3 { break }
            }
            #expect(gaps.isEmpty, "lines out of order or lost: \(gaps)")
        }
    }
}
