import NIOCore

/// One forwarded connection of a SPDY port-forward session: kubectl opens an error stream and a data
/// stream with the same `requestid` for each local connection it accepts (client-go
/// tools/portforward/portforward.go), and the server pumps the data stream to a TCP connection inside
/// the pod. Confined to the session's event loop.
final class PortForwardRequest {
    let id: String
    var port: Int
    var errorStream: UInt32?
    var dataStream: UInt32?
    var state = State.waitingForStreams
    /// Client bytes that arrived before the connection to the pod was made.
    var pending: [ByteBuffer] = []
    /// The client sent FIN on the data stream: nothing more will come.
    var clientFinished = false
    /// Completes when everything written to the pod so far is written.
    var lastWrite: EventLoopFuture<Void>?
    var timeout: Scheduled<Void>?

    enum State {
        case waitingForStreams
        case dialing
        case forwarding(Channel)
        case finished
    }

    init(id: String, port: Int) {
        self.id = id
        self.port = port
    }

    var upstream: Channel? {
        if case .forwarding(let channel) = state { channel } else { nil }
    }

    var isComplete: Bool { errorStream != nil && dataStream != nil }

    var streams: [UInt32] { [errorStream, dataStream].compactMap { $0 } }
}

/// What a SYN_STREAM of a port-forward session asks for (pkg/kubelet/cri/streaming/portforward/httpstream.go).
struct PortForwardStreamHeaders {
    enum Kind: String {
        case error
        case data
    }

    var kind: Kind
    var port: Int
    var requestID: String

    /// Validates the `streamtype` and `port` headers; without `requestid` (old clients), derives the id
    /// from the stream id as kubelet does: consecutive odd stream ids, error stream first.
    init(_ headers: SPDYHeaderBlock, streamID: UInt32) throws {
        guard let portText = headers["port"], !portText.isEmpty else {
            throw SPDYProtocolError("\"port\" header is required")
        }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw SPDYProtocolError("unable to parse \"\(portText)\" as a port")
        }
        guard let typeText = headers["streamtype"], !typeText.isEmpty else {
            throw SPDYProtocolError("\"streamType\" header is required")
        }
        guard let kind = Kind(rawValue: typeText) else {
            throw SPDYProtocolError("invalid stream type \"\(typeText)\"")
        }
        self.kind = kind
        self.port = port
        if let requestID = headers["requestid"], !requestID.isEmpty {
            self.requestID = requestID
        } else {
            self.requestID = String(kind == .error ? Int(streamID) : Int(streamID) - 2)
        }
    }
}
