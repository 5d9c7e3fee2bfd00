import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `kubectl port-forward` for one port: listens on 127.0.0.1 and carries every accepted connection over
/// its own WebSocket (v4.channel.k8s.io: channel 0 data, channel 1 errors, each opened by the server
/// with the port as 2 bytes little-endian). Errors from the pod side reach `onError`.
public final class PortForwarder: Sendable {
    public let client: KubeClient
    public let namespace: String
    public let pod: String
    public let remotePort: UInt16
    private let onError: @Sendable (PortForwardError) -> Void
    private let listener: LocalListener
    /// How long a connection whose client closed its sending side stays open while the pod is silent:
    /// v4 cannot pass a half-close on, and a client that closed entirely looks the same.
    private let halfClosedIdle: Duration

    /// `localPort` 0 picks a free port; read it from `localPort` afterwards.
    public init(
        client: KubeClient, namespace: String, pod: String, remotePort: UInt16, localPort: UInt16 = 0,
        halfClosedIdle: Duration = .seconds(10), onError: @escaping @Sendable (PortForwardError) -> Void
    ) throws {
        self.halfClosedIdle = halfClosedIdle
        self.client = client
        self.namespace = namespace
        self.pod = pod
        self.remotePort = remotePort
        self.onError = onError
        listener = try LocalListener(port: localPort)
    }

    public var localPort: UInt16 { listener.port }

    public func start() {
        listener.start { [self] socket in
            Task { await carry(socket) }
        }
    }

    public func stop() {
        listener.stop()
    }

    private func carry(_ local: Int32) async {
        let stream = PortForwardChannels(local: local, halfClosedIdle: halfClosedIdle) {
            [onError, pod, remotePort] message in
            onError(.remote(pod: pod, port: remotePort, message: message))
        }
        let connection: WebSocketConnection
        do {
            connection = try await client.webSocket(
                "/api/v1/namespaces/\(namespace)/pods/\(pod)/portforward", query: [("ports", String(remotePort))],
                protocols: ["v4.channel.k8s.io"], handler: { stream.receive($0) }, readGate: { stream.acceptsMore })
        } catch {
            onError(.remote(pod: pod, port: remotePort, message: "\(error)"))
            Glibc.close(local)
            return
        }
        // One thread per direction, as kubectl's two copy goroutines: neither waits for the other.
        let uploaded = DispatchSemaphore(value: 0)
        let up = Thread {
            stream.pumpLocal(to: connection)
            uploaded.signal()
        }
        let down = Thread {
            stream.pumpRemote(waking: connection)
            uploaded.wait()
            connection.waitUntilFinished()
            Glibc.close(local)
        }
        up.name = "devloop-port-forward-up"
        down.name = "devloop-port-forward-down"
        up.start()
        down.start()
    }
}

/// The two channels of one forwarded connection. `receive` runs on the WebSocket's I/O thread and only
/// queues: were it to block on a local client that is busy uploading, the I/O thread could not send that
/// upload and both would wait for ever. `pumpRemote` writes the queue to the local socket, `pumpLocal`
/// reads it, each on its own thread; a full queue pauses reading the WebSocket (backpressure).
final class PortForwardChannels: @unchecked Sendable {
    private let local: Int32
    private let inbound = InboundQueue(limit: 4 << 20)
    private let halfClosedIdle: Duration
    private var seenPrefix: Set<UInt8> = []
    private let onRemoteError: @Sendable (String) -> Void

    /// `onRemoteError` gets the pod side's message (e.g. nothing listens on the port in the pod).
    init(local: Int32, halfClosedIdle: Duration, onRemoteError: @escaping @Sendable (String) -> Void) {
        self.halfClosedIdle = halfClosedIdle
        self.local = local
        self.onRemoteError = onRemoteError
    }

    func receive(_ message: Data) {
        guard let channel = message.first else {
            // The WebSocket ended: `pumpRemote` delivers what is queued, then wakes the local reader.
            inbound.finish()
            return
        }
        var payload = message.dropFirst()
        if !seenPrefix.contains(channel) {
            // The server opens each channel with the port number; it is not data.
            seenPrefix.insert(channel)
            payload = payload.dropFirst(2)
        }
        guard !payload.isEmpty else { return }
        if channel == 0 {
            inbound.push(Data(payload))
        } else if channel == 1 {
            onRemoteError(Self.errorMessage(Data(payload)))
        }
    }

    static func errorMessage(_ data: Data) -> String {
        if let json = try? JSONValue.decode(data), let message = json["message"]?.string { return message }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func pumpLocal(to connection: WebSocketConnection) {
        let size = 256 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        var lastSent: ContinuousClock.Instant?
        while true {
            let count = read(local, buffer, size)
            if count == 0, let lastSent, !inbound.pushed(after: lastSent) {
                // The client closed its sending side with its last bytes unanswered (`nc -N`, HTTP/1.0):
                // it may still read, and v4 cannot pass a half-close on, so keep the stream until the pod
                // side ends or goes quiet. A client that closes after its answer is not kept waiting.
                inbound.waitForEnd(idle: halfClosedIdle)
            }
            guard count > 0 else { break }
            lastSent = .now
            var message = Data(capacity: count + 1)
            message.append(0)
            message.append(buffer.assumingMemoryBound(to: UInt8.self), count: count)
            do {
                try connection.sendBlocking(message)
            } catch {
                break
            }
        }
        connection.close()
    }

    /// Whether the WebSocket may read more: false while the local client lags 4 MB behind.
    var acceptsMore: Bool { inbound.hasRoom }

    /// Writes what the pod sent into the local socket until the WebSocket ends. After a failed write
    /// (the client went away) the rest is dropped, so that reading goes on until the close.
    func pumpRemote(waking connection: WebSocketConnection) {
        var open = true
        while let chunk = inbound.pop(madeRoom: connection.resumeReading) {
            guard open else { continue }
            open = writeAll(chunk)
            // The client went away: wake the local reader, which then closes the WebSocket.
            if !open {
                inbound.abandon()
                shutdown(local, Int32(SHUT_RDWR))
            }
        }
        shutdown(local, Int32(SHUT_RDWR))
    }

    private func writeAll(_ data: Data) -> Bool {
        Self.writeAll(data, to: local)
    }

    /// Writes all of `data` to a blocking socket; false once the peer is gone.
    static func writeAll(_ data: Data, to socket: Int32) -> Bool {
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = send(socket, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
    }
}
