import Foundation
import LockedValue

/// The pod side of one forwarded TCP connection, whatever carries it (a SPDY stream pair, or a v4
/// WebSocket of its own). Calls block only on the carrier's bounded outbound buffer.
protocol ForwardStream: AnyObject, Sendable {
    func send(_ data: Data) throws
    /// The local client sent FIN.
    func finish()
    func reset()
    /// The local side made room after the delegate's `hasRoom` said no: the carrier reads again.
    func wake()
}

extension SPDYStreamPair: ForwardStream {}

/// The v4.channel.k8s.io fallback: one WebSocket per connection, channel 0 data and channel 1 errors,
/// each opened by the server with the port as 2 bytes. v4 cannot pass a half-close on.
final class WebSocketForwardStream: ForwardStream, @unchecked Sendable {
    private let connection: WebSocketConnection

    init(connection: WebSocketConnection) {
        self.connection = connection
    }

    func send(_ data: Data) throws {
        var message = Data(capacity: data.count + 1)
        message.append(0)
        message.append(data)
        try connection.sendBlocking(message)
    }

    func finish() {}

    func reset() {
        connection.cancel()
    }

    func wake() {
        connection.resumeReading()
    }

    /// Turns the WebSocket's messages (on its I/O thread) into the delegate's events.
    static func receiver(for delegate: any SPDYStreamPairDelegate) -> @Sendable (Data) -> Void {
        let seen = Locked<Set<UInt8>>([])
        return { message in
            guard let channel = message.first else {
                delegate.ended(lost: false)
                return
            }
            var payload = message.dropFirst()
            let first = seen.withLock { $0.insert(channel).inserted }
            if first { payload = payload.dropFirst(2) }
            guard !payload.isEmpty else { return }
            if channel == 0 {
                delegate.received(Data(payload))
            } else if channel == 1 {
                delegate.receivedError(PortForwardChannels.errorMessage(Data(payload)))
            }
        }
    }
}
