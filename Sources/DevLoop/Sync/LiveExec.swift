import Foundation

/// How an exec of the session ended (or broke) before answering the batch in flight.
enum LiveExecEnding: Sendable, Equatable, CustomStringConvertible {
    /// The command exited: its status and its last words (stderr, then any stdout after the last answer).
    case exited(Int32, String)
    /// The stream broke (the pod went away, the connection dropped, the deadline cut it).
    case broken(String)

    var description: String {
        switch self {
        case .exited(let code, let words): "exited \(code)" + (words.isEmpty ? "" : ": \(words)")
        case .broken(let reason): reason
        }
    }
}

/// One open exec of the session script and the task that reads it. The reader waits on the stream
/// (no polling), so an exec that dies while idle is known dead before the next batch is sent.
final class LiveExec: @unchecked Sendable {
    enum Event: Sendable {
        case answer(ExecTarAnswer)
        case ended(LiveExecEnding)
    }

    enum Outcome: Sendable, Equatable {
        case answered(ExecTarAnswer)
        case ended(LiveExecEnding, timedOut: Bool)
    }

    let stream: any ContainerStream
    /// Raised once the reader has seen the stream end.
    private let ended = CancellationFlag()
    /// Touched by one batch at a time (the session's gate).
    private var events: AsyncStream<Event>.Iterator
    private var ending: LiveExecEnding?
    /// Batches this exec has answered.
    private(set) var answered = 0

    var isEnded: Bool { ended.isRaised }

    init(stream: any ContainerStream) {
        self.stream = stream
        // One answer per batch written, and a batch waits for its own: a few slots are plenty.
        let (events, sink) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(16))
        self.events = events.makeAsyncIterator()
        Task { [ended] in
            var parser = AnswerParser()
            var stderr = OutputTail(limit: AnswerParser.messageLimit)
            var ending = LiveExecEnding.broken("the exec stream ended")
            do {
                for try await output in stream.output {
                    switch output {
                    case .stdout(let data): for answer in parser.feed(data) { sink.yield(.answer(answer)) }
                    case .stderr(let data): stderr.append(data[...])
                    case .exit(let code):
                        let words = String(decoding: stderr.data, as: UTF8.self) + parser.pending
                        ending = .exited(code, words.trimmingCharacters(in: .whitespacesAndNewlines))
                    }
                }
            } catch {
                let words = String(decoding: stderr.data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                ending = .broken("\(error)" + (words.isEmpty ? "" : " (it said: \(words))"))
            }
            ended.raise()
            sink.yield(.ended(ending))
            sink.finish()
        }
    }

    /// Writes one framed batch and waits for its answer, at most `deadline`: past it the exec is
    /// dropped (a stopped pod neither reads nor answers). Cancelling the caller drops it too.
    func exchange(_ payload: Data, sequence: Int, deadline: Duration) async -> Outcome {
        let timedOut = CancellationFlag()
        let timer = Task { [stream] in
            try? await Task.sleep(for: deadline)
            guard !Task.isCancelled else { return }
            timedOut.raise()
            stream.cancel()
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            // A failed write is not the answer: the reader sees why the stream ended.
            try? await stream.write(payload)
            while let event = await events.next() {
                switch event {
                case .answer(let answer) where answer.sequence == sequence:
                    answered += 1
                    return .answered(answer)
                case .answer: continue
                case .ended(let ending):
                    self.ending = ending
                    return .ended(ending, timedOut: timedOut.isRaised)
                }
            }
            return .ended(ending ?? .broken("the exec stream ended"), timedOut: timedOut.isRaised)
        } onCancel: {
            stream.cancel()
        }
    }
}
