import Foundation

/// One restart exec already running in the container, its shell waiting for a go line: the restart
/// then pays neither the exec's connection and upgrade nor the shell's start (most of devloop's share
/// of a restart). The shell acknowledges the go line at once, so a stream that died without a word
/// (a proxy that dropped it while idle) is told from a slow build within `acknowledgement`, and the
/// restart can still take a fresh exec.
final class StandbyExec: Sendable {
    /// What the shell writes to stdout when it has read its go line, before anything of the restart.
    static let acknowledgement = Data("\u{1}go\n".utf8)

    let opened: StreamOpenedAhead
    private let command: [String]
    private let ended = CancellationFlag()
    private let acknowledged = CancellationFlag()
    /// The exec's end, yielded once by the reader.
    private let end: AsyncStream<Result<ExecResult, Error>>

    var isEnded: Bool { ended.isRaised }

    init(_ opened: StreamOpenedAhead, command: [String], stdoutLimit: Int = ExecRequest.defaultStdoutLimit) {
        self.opened = opened
        self.command = command
        let (end, sink) = AsyncStream.makeStream(
            of: Result<ExecResult, Error>.self, bufferingPolicy: .bufferingNewest(1))
        self.end = end
        Task { [ended, acknowledged] in
            var pending = Data()
            var stdout = BoundedOutput(limit: stdoutLimit)
            var stderr = OutputTail(limit: ExecRequest.defaultStderrTail)
            var result: Result<ExecResult, Error> = .failure(
                KubeClientError.protocolViolation(
                    "the exec stream of \(command.first ?? "") ended without an exit status"))
            do {
                reading: for try await output in opened.stream.output {
                    switch output {
                    case .stdout(var data):
                        if !acknowledged.isRaised {
                            pending.append(data)
                            guard pending.count >= Self.acknowledgement.count else { continue }
                            guard pending.starts(with: Self.acknowledgement) else {
                                result = .failure(
                                    KubeClientError.protocolViolation(
                                        "the restart exec wrote before it was started: "
                                            + String(decoding: pending.prefix(200), as: UTF8.self)))
                                opened.stream.cancel()
                                break reading
                            }
                            acknowledged.raise()
                            data = pending.dropFirst(Self.acknowledgement.count)
                        }
                        guard stdout.append(data[...]) else {
                            result = .failure(KubeClientError.execOutputTooLarge(command: command, limit: stdoutLimit))
                            opened.stream.cancel()
                            break reading
                        }
                    case .stderr(let data): stderr.append(data[...])
                    case .exit(let code):
                        result = .success(
                            ExecResult(
                                exitCode: code, stdout: stdout.data, stderr: stderr.data,
                                stderrDropped: stderr.droppedBytes))
                    }
                }
            } catch {
                result = .failure(error)
            }
            ended.raise()
            sink.yield(result)
            sink.finish()
        }
    }

    /// Sends the go line and waits for the exec's end, at most `deadline`. Nil when the restart never
    /// started here (the stream was dead, or no acknowledgement came within `acknowledgement`): the
    /// caller runs it on a fresh exec.
    func run(acknowledgement: Duration, deadline: Duration) async throws -> ExecResult? {
        guard !ended.isRaised else { return nil }
        let stream = opened.stream
        let timedOut = CancellationFlag()
        let timer = Task { [acknowledged] in
            guard (try? await Task.sleep(for: acknowledgement)) != nil else { return }
            guard acknowledged.isRaised else {
                stream.cancel()
                return
            }
            guard (try? await Task.sleep(for: deadline - acknowledgement)) != nil else { return }
            timedOut.raise()
            stream.cancel()
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            do {
                try await stream.write(Data("go\n".utf8))
            } catch {
                stream.cancel()
                return nil
            }
            for await result in end {
                try Task.checkCancellation()
                guard acknowledged.isRaised else { return nil }
                if timedOut.isRaised { throw KubeClientError.execTimedOut(command: command, after: deadline) }
                return try result.get()
            }
            return nil
        } onCancel: {
            stream.cancel()
        }
    }

    func cancel() { opened.stream.cancel() }
}
