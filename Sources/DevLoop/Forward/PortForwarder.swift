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

    /// `localPort` 0 picks a free port; read it from `localPort` afterwards.
    public init(
        client: KubeClient, namespace: String, pod: String, remotePort: UInt16, localPort: UInt16 = 0,
        onError: @escaping @Sendable (PortForwardError) -> Void
    ) throws {
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
        let stream = PortForwardChannels(local: local) { [onError, pod, remotePort] message in
            onError(.remote(pod: pod, port: remotePort, message: message))
        }
        let connection: WebSocketConnection
        do {
            connection = try await client.webSocket(
                "/api/v1/namespaces/\(namespace)/pods/\(pod)/portforward", query: [("ports", String(remotePort))],
                protocols: ["v4.channel.k8s.io"], handler: { stream.receive($0) })
        } catch {
            onError(.remote(pod: pod, port: remotePort, message: "\(error)"))
            Glibc.close(local)
            return
        }
        let thread = Thread {
            stream.pumpLocal(to: connection)
            connection.waitUntilFinished()
            Glibc.close(local)
        }
        thread.name = "devloop-port-forward"
        thread.start()
    }
}

/// The two channels of one forwarded connection. `receive` runs on the WebSocket's I/O thread and
/// writes straight into the local socket (blocking: backpressure); `pumpLocal` runs on its own thread.
final class PortForwardChannels: @unchecked Sendable {
    private let local: Int32
    private var seenPrefix: Set<UInt8> = []
    private let onRemoteError: @Sendable (String) -> Void

    /// `onRemoteError` gets the pod side's message (e.g. nothing listens on the port in the pod).
    init(local: Int32, onRemoteError: @escaping @Sendable (String) -> Void) {
        self.local = local
        self.onRemoteError = onRemoteError
    }

    func receive(_ message: Data) {
        guard let channel = message.first else {
            // The WebSocket ended: wake the local reader; its thread closes the socket afterwards.
            shutdown(local, Int32(SHUT_RDWR))
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
            writeAll(Data(payload))
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
        while true {
            let count = read(local, buffer, size)
            guard count > 0 else { break }
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

    private func writeAll(_ data: Data) {
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = send(local, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
