import Testing

@testable import DevLoop

/// A connection waiting for a server being replaced is dialled again every few ms for its first
/// second (the first dial after the new server listens is the one the user waits for), then backs off.
@Suite struct DialRetryScheduleTests {
    let schedule = DialRetrySchedule()

    @Test("the first second is retried at the fast interval, whatever came before")
    func fastPhase() {
        var previous: Duration?
        for waited in stride(from: 0, to: 1_000, by: 10) {
            let pause = schedule.pause(afterWaiting: .milliseconds(waited), previous: previous)
            #expect(pause == .milliseconds(10), "after \(waited) ms")
            previous = pause
        }
    }

    @Test("past the first second the pause doubles up to 500 ms and stays there")
    func backOff() {
        var pauses: [Duration] = []
        var previous: Duration? = .milliseconds(10)
        for _ in 0..<10 {
            let pause = schedule.pause(afterWaiting: .seconds(2), previous: previous)
            pauses.append(pause)
            previous = pause
        }
        #expect(pauses.map { $0 / .milliseconds(1) } == [20, 40, 80, 160, 320, 500, 500, 500, 500, 500])
    }
}
