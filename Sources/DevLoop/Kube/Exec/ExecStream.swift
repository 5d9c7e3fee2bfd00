import Foundation

extension PodExec {
    /// Opens an exec whose stdin stays open: the command reads framed input for as long as the caller
    /// writes. It never needs stdin's end, so no `head -c N` wrapper is put around it and v4 (every
    /// 1.25 server) works as v5 does. `request.stdin` and `request.timeout` are not used: the caller
    /// bounds each exchange itself.
    public func open(_ request: ExecRequest) async throws -> ExecStream {
        let (connection, _) = try await connect(request, command: request.command, stdin: true)
        if Task.isCancelled {
            connection.cancel()
            throw CancellationError()
        }
        return ExecStream(connection: connection, command: request.command)
    }
}

/// An open exec stream: stdin out on channel 0 as the caller writes, stdout and stderr in on
/// channels 1 and 2 as they come, then the exit status (channel 3).
public struct ExecStream: ContainerStream {
    let connection: WebSocketConnection
    public let output: AsyncThrowingStream<ContainerOutput, Error>

    init(connection: WebSocketConnection, command: [String]) {
        self.connection = connection
        let decoder = ExecOutputDecoder(messages: connection.messages, command: command)
        // Pulled by the reader: no task and no buffer of its own (the connection's is bounded).
        output = AsyncThrowingStream(unfolding: { try await decoder.next() })
    }

    public func write(_ data: Data) async throws {
        var offset = data.startIndex
        while offset < data.endIndex {
            let end = min(offset + ExecSession.chunkSize, data.endIndex)
            try await connection.send(Data([0]) + data[offset..<end])
            offset = end
        }
    }

    public func cancel() {
        connection.cancel()
    }
}

/// Turns the channel-tagged messages of an exec stream into `ContainerOutput` (one reader at a time).
final class ExecOutputDecoder: @unchecked Sendable {
    private var messages: AsyncThrowingStream<Data, Error>.Iterator
    private let command: [String]
    private var finished = false

    init(messages: AsyncThrowingStream<Data, Error>, command: [String]) {
        self.messages = messages.makeAsyncIterator()
        self.command = command
    }

    func next() async throws -> ContainerOutput? {
        guard !finished else { return nil }
        while let message = try await messages.next() {
            guard let channel = message.first else { continue }
            let payload = Data(message.dropFirst())
            switch channel {
            case 1: return .stdout(payload)
            case 2: return .stderr(payload)
            case 3 where !payload.isEmpty:
                finished = true
                let status =
                    (try? JSONValue.decode(payload))
                    ?? .object(["message": .string(String(decoding: payload, as: UTF8.self))])
                return .exit(try ExecSession.exitCode(status))
            default: continue
            }
        }
        finished = true
        throw KubeClientError.protocolViolation(
            "the exec stream of \(command.first ?? "") ended without an exit status")
    }
}
