import Testing

@testable import DevLoop

/// The one exec of a restart reports its build on stderr between the build's errors and the swap's.
@Suite struct RestartReportTests {
    @Test func theBuildsErrorsAndTheSwapsAreToldApart() throws {
        let stderr = "a.swift:1:1: error: x\ndevloop-supervisor: build exited 0 after 12 cs\nthe new server exited\n"
        let report = try #require(RestartReport(stderr: stderr))
        #expect(report.buildErrors == "a.swift:1:1: error: x\n")
        #expect(report.buildStatus == 0)
        #expect(report.buildDuration == .milliseconds(120))
        #expect(report.swapErrors == "the new server exited\n")
    }

    @Test func aFailedBuildWithoutANewlineAtTheEnd() throws {
        let report = try #require(RestartReport(stderr: "broken" + "devloop-supervisor: build exited 2 after 0 cs\n"))
        #expect(report.buildErrors == "broken")
        #expect(report.buildStatus == 2)
        #expect(report.swapErrors.isEmpty)
    }

    @Test func noReportLineIsNoReport() {
        #expect(RestartReport(stderr: "sh: 1: supervisor.sh: not found\n") == nil)
    }
}
