import Foundation
import NIOCore
import NIOWebSocket
import Synchronization

/// `pods/portforward` over a plain WebSocket (`v4.channel.k8s.io`, or no subprotocol), as the kubelet
/// serves it: one TCP connection per listed port, data on channel 2i and errors on 2i+1, each opened by
/// the port number as two little-endian bytes.
struct PortForwardSession: Sendable {
    var uid: String
    var podName: String
    var ports: [Int]

    func run(channel: Channel, frames: AsyncStream<WebSocketFrame>, runtime: PodRuntime) async {
        var sockets: [Int: Channel] = [:]
        for (index, port) in ports.enumerated() {
            var prefix = channel.allocator.buffer(capacity: 2)
            prefix.writeInteger(UInt16(port), endianness: .little)
            _ = channel.sendChannelMessage(UInt8(2 * index), prefix)
            _ = channel.sendChannelMessage(UInt8(2 * index + 1), prefix)
        }
        // As the kubelet: each port ends on its own (its socket closed, or its dial failed with the error
        // on its error channel), and the WebSocket closes once every port has ended. A client whose only
        // port failed must not be left waiting on an open stream.
        let open = Atomic(ports.count)
        let portEnded: @Sendable () -> Void = {
            if open.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { channel.sendClose() }
        }
        for (index, port) in ports.enumerated() {
            let data = UInt8(2 * index)
            do {
                let descriptor = try await runtime.dial(uid: uid, port: port)
                sockets[index] = try await DescriptorChannels.socket(
                    descriptor, on: channel.eventLoop, onData: { bytes in _ = channel.sendChannelMessage(data, bytes) },
                    onEnd: portEnded)
            } catch {
                var message = channel.allocator.buffer(capacity: 128)
                message.writeString(
                    "error forwarding port \(port) to pod \(podName), uid \(uid): \(error)")
                _ = channel.sendChannelMessage(data + 1, message)
                portEnded()
            }
        }
        for await frame in frames where frame.opcode == .binary || frame.opcode == .text {
            var payload = frame.data
            guard let number = payload.readInteger(as: UInt8.self), number % 2 == 0,
                let socket = sockets[Int(number) / 2]
            else { continue }
            if payload.readableBytes > 0 { socket.writeAndFlush(payload, promise: nil) }
        }
        for socket in sockets.values { try? await socket.close().get() }
    }
}
