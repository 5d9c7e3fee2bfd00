import Foundation

/// What a forwarded connection learns from its stream pair, on the SPDY connection's I/O thread: the
/// calls must not block (they queue), or every other stream of the connection would wait.
protocol SPDYStreamPairDelegate: AnyObject, Sendable {
    /// Bytes from the pod on the data stream.
    func received(_ data: Data)
    /// Text on the error stream: kubelet's reason the dial into the pod failed.
    func receivedError(_ message: String)
    /// The data stream ended: `lost` when it was reset or the connection went away, not a clean FIN.
    func ended(lost: Bool)
    /// False while the local side lags: the connection stops reading until `SPDYConnection.wake()`.
    var hasRoom: Bool { get }
}

/// One forwarded TCP connection's two streams (client-go: an error stream, then a data stream, both
/// with the same `requestID`).
final class SPDYStreamPair: @unchecked Sendable {
    let errorStream: UInt32
    let dataStream: UInt32
    let delegate: any SPDYStreamPairDelegate
    private weak var connection: SPDYConnection?
    /// Touched by the I/O thread only.
    var errorText = Data()
    var unacknowledged = 0

    init(errorStream: UInt32, dataStream: UInt32, delegate: any SPDYStreamPairDelegate, connection: SPDYConnection) {
        self.errorStream = errorStream
        self.dataStream = dataStream
        self.delegate = delegate
        self.connection = connection
    }

    /// Queues `data` for the pod, blocking while the connection's outbound buffer is full.
    func send(_ data: Data) throws {
        guard let connection else { throw SPDYClientError("the connection is gone") }
        try connection.send(.data(streamID: dataStream, fin: false, payload: data))
    }

    /// The local client will send nothing more (a half-close, which SPDY passes on).
    func finish() {
        try? connection?.send(.data(streamID: dataStream, fin: true, payload: Data()))
    }

    /// Abandons both streams.
    func reset() {
        connection?.reset(self)
    }

    /// Lets the connection read again after the delegate made room.
    func wake() {
        connection?.wake()
    }
}
