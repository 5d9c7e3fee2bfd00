import Foundation
import LockedValue
import NIOCore
import NIOWebSocket

#if canImport(Glibc)
    import Glibc
#endif

/// A stand-in for the kubelet's exec endpoint that runs the command as a local process and speaks the
/// v4/v5 channel protocols as a kubelet does: under v4 stdin never closes (there is no way to say so),
/// under v5 it closes on channel 255.
final class FakeExecSession: TestWebSocketBehavior, @unchecked Sendable {
    private let version: String
    private let stdin = Pipe()
    private let lock = NSLock()

    init(version: String) {
        self.version = version
    }

    func opened(_ socket: TestWebSocket) {
        let process = Process()
        let command = socket.request.values("command")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = socket.request.values("stdin").first == "true" ? stdin : FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        socket.send(Data([1]))
        do {
            // A kubelet cannot start a missing program at all: no exit code, an error Status.
            if let program = command.first, program.hasPrefix("/"), !FileManager.default.fileExists(atPath: program) {
                throw CocoaError(.fileNoSuchFile)
            }
            try process.run()
        } catch {
            socket.send(
                Data([3])
                    + Data(
                        #"{"status":"Failure","message":"cannot run \#(command.joined(separator: " "))","reason":"InternalError"}"#
                            .utf8))
            socket.close()
            return
        }
        Thread {
            let group = DispatchGroup()
            for (channel, pipe) in [(UInt8(1), stdout), (2, stderr)] {
                group.enter()
                Thread {
                    while true {
                        let data = pipe.fileHandleForReading.availableData
                        if data.isEmpty { break }
                        socket.send(Data([channel]) + data)
                    }
                    group.leave()
                }.start()
            }
            group.wait()
            process.waitUntilExit()
            let code = process.terminationStatus
            let status =
                code == 0
                ? #"{"metadata":{},"status":"Success"}"#
                : #"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"\#(code)"}]}}"#
            socket.send(Data([3]) + Data(status.utf8))
            socket.close()
        }.start()
    }

    func received(_ frame: WebSocketFrame, data: Data, socket: TestWebSocket) {
        MaskCheck.record(frame)
        guard frame.opcode == .binary, let channel = data.first else { return }
        if channel == 0 {
            lock.lock()
            defer { lock.unlock() }
            try? stdin.fileHandleForWriting.write(contentsOf: data.dropFirst())
        } else if channel == 255, version == "v5.channel.k8s.io", data.dropFirst().first == 0 {
            try? stdin.fileHandleForWriting.close()
        }
    }
}

/// A stand-in for the kubelet's port-forward endpoint: one WebSocket, one TCP connection to 127.0.0.1.
final class FakePortForwardSession: TestWebSocketBehavior, @unchecked Sendable {
    private let target: UInt16
    private var descriptor: Int32 = -1
    private var buffered = Data()

    init(target: UInt16) {
        self.target = target
    }

    func opened(_ socket: TestWebSocket) {
        let port = UInt16(socket.request.values("ports").first ?? "") ?? 0
        let prefix = Data([UInt8(port & 0xFF), UInt8(port >> 8)])
        socket.send(Data([0]) + prefix)
        socket.send(Data([1]) + prefix)
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = target.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            socket.send(
                Data([1]) + Data("failed to connect to localhost:\(port) inside the pod: connection refused".utf8))
            socket.close()
            Glibc.close(fd)
            return
        }
        descriptor = fd
        Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(fd, &buffer, buffer.count)
                if count <= 0 { break }
                socket.send(Data([0]) + Data(buffer[0..<count]))
            }
            socket.close()
        }.start()
    }

    func received(_ frame: WebSocketFrame, data: Data, socket: TestWebSocket) {
        MaskCheck.record(frame)
        if frame.opcode == .connectionClose {
            shutdown(descriptor, Int32(SHUT_RDWR))
            return
        }
        guard frame.opcode == .binary, data.first == 0, descriptor >= 0 else { return }
        data.dropFirst().withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = send(descriptor, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

/// Counts client frames that arrived unmasked; tests expect zero.
enum MaskCheck {
    private static let unmasked = Locked(0)

    static func record(_ frame: WebSocketFrame) {
        if frame.maskKey == nil { unmasked.withLock { $0 += 1 } }
    }

    static var unmaskedFrames: Int { unmasked.current }
}
