import Foundation
import Synchronization
import Testing

@testable import DevLoop

/// `WebSocketConnection.messages` against a command that writes as fast as it can: a reader that stops
/// reading stops the connection reading its socket once a bounded amount is queued, the paused
/// connection sleeps without waking, and when the reader goes on nothing is lost or reordered.
@Suite struct WebSocketBackpressureTests {
    /// Numbered lines of about 1 KB, without end.
    static let flood = #"awk 'BEGIN { pad = sprintf("%1000s", ""); for (i = 1; ; i++) print i pad }'"#

    static func exec(_ sim: KubeSimFixture, _ script: String) async throws -> WebSocketConnection {
        try await sim.client.webSocket(
            "/api/v1/namespaces/ws/pods/shell/exec",
            query: [("command", "sh"), ("command", "-c"), ("command", script), ("stdout", "true"), ("stderr", "true")],
            protocols: [StreamProtocol.v5.rawValue])
    }

    /// Reads stdout messages into numbered lines.
    struct Lines {
        var messages: AsyncThrowingStream<Data, Error>.AsyncIterator
        var pending = Data()
        var last = 0
        var gaps: [String] = []

        mutating func read(_ count: Int) async throws {
            var seen = 0
            while seen < count {
                guard let newline = pending.firstIndex(of: UInt8(ascii: "\n")) else {
                    let message = try #require(try await messages.next(), "the stream ended after line \(last)")
                    if message.first == 1 { pending.append(message.dropFirst()) }
                    continue
                }
                let line = pending[pending.startIndex..<newline]
                pending = Data(pending[(newline + 1)...])
                let number = Int(String(decoding: line.prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self))
                if number != last + 1 { gaps.append("\(last) then \(number.map(String.init) ?? "?")") }
                last = number ?? last
                seen += 1
            }
        }
    }

    static func startPod(_ sim: KubeSimFixture) async throws {
        try await sim.apply(KubeSimFixture.podManifest(namespace: "ws", name: "shell", command: "sleep 3600"))
        try await sim.waitForRunningPod("ws", "shell")
    }

    @Test(.timeLimit(.minutes(2))) func aPausedReaderKeepsTheQueueBoundedAndTheThreadAsleep() async throws {
        try await KubeSimFixture.run { sim in
            try await Self.startPod(sim)
            let connection = try await Self.exec(sim, Self.flood)
            defer { connection.cancel() }
            var lines = Lines(messages: connection.messages.makeAsyncIterator())
            try await lines.read(1_000)
            // The reader stops reading: that is the scenario, not a wait for an event. The first second
            // lets the queue fill; the next four count the thread's wake-ups while it is paused.
            try await Task.sleep(for: .seconds(1))
            let pollsBefore = connection.polls.load(ordering: .relaxed)
            try await Task.sleep(for: .seconds(4))
            let wakeups = connection.polls.load(ordering: .relaxed) - pollsBefore
            let queued = connection.queuedBytes
            print("paused reader: \(queued >> 10) KB queued, \(wakeups) wake-ups in 4 s")
            // Between the watermarks: the reader stopped somewhere in the drain from high to low.
            #expect(
                queued >= WebSocketConnection.inboundLow / 2,
                "only \(queued) bytes queued: the command did not outpace the paused reader")
            #expect(
                queued <= 2 << 20,
                "\(queued >> 10) KB queued for a reader that stopped reading (the high watermark is \(WebSocketConnection.inboundHigh >> 10) KB)"
            )
            #expect(wakeups <= 2, "the paused connection woke \(wakeups) times in 4 s")
            // Reading again: every line follows its predecessor, across the pause and well past it.
            try await lines.read(20_000)
            #expect(lines.gaps.isEmpty, "lines out of order or lost: \(lines.gaps.prefix(5))")
        }
    }

    @Test(.timeLimit(.minutes(2))) func anIdleConnectionDoesNotWakeUp() async throws {
        try await KubeSimFixture.run { sim in
            try await Self.startPod(sim)
            let connection = try await Self.exec(sim, "echo ready; sleep 60")
            defer { connection.cancel() }
            var messages = connection.messages.makeAsyncIterator()
            let first = try #require(try await messages.next())
            #expect(first == Data([1]) + Data("ready\n".utf8))
            let pollsBefore = connection.polls.load(ordering: .relaxed)
            // Nothing happens on the stream: that is the scenario.
            try await Task.sleep(for: .seconds(4))
            let wakeups = connection.polls.load(ordering: .relaxed) - pollsBefore
            print("idle connection: \(wakeups) wake-ups in 4 s")
            #expect(wakeups <= 1, "the idle connection woke \(wakeups) times in 4 s")
        }
    }
}
