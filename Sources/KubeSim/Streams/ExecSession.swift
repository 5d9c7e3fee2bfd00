import Foundation
import NIOCore
import NIOWebSocket

/// One `pods/exec` over the k8s WebSocket channel protocol (v4 or v5): stdin on channel 0, stdout 1,
/// stderr 2, the exit Status on 3, resize on 4 (ignored), and in v5 stdin's end on 255.
struct ExecSession: Sendable {
    var uid: String
    var container: String
    var command: [String]
    var tty: Bool
    var stdin: Bool
    var stdout: Bool
    var stderr: Bool
    var version5: Bool
    /// Over SPDY stdin's end arrives as a FIN, which `SPDYExecHandler` hands on as channel 255.
    var spdy = false

    func run(channel: Channel, frames: AsyncStream<WebSocketFrame>, runtime: PodRuntime) async {
        let process: ExecProcess
        do {
            process = try await runtime.exec(uid: uid, container: container, command: command, tty: tty)
        } catch {
            await finish(channel, status: Self.failure(message: "exec failed: \(error)", exitCode: nil))
            return
        }
        let stdoutClosed = channel.eventLoop.makePromise(of: Void.self)
        let stderrClosed = channel.eventLoop.makePromise(of: Void.self)
        var pipes: [Channel] = []
        for (handle, number, wanted, closed) in [
            (process.stdout, UInt8(1), stdout, stdoutClosed), (process.stderr, UInt8(2), stderr || tty, stderrClosed),
        ] {
            let reader = try? await DescriptorChannels.reading(
                handle.fileDescriptor, on: channel.eventLoop,
                onData: { data in if wanted { _ = channel.sendChannelMessage(number, data) } },
                onEnd: { closed.succeed() })
            if let reader { pipes.append(reader) } else { closed.succeed() }
        }
        let writer =
            stdin ? try? await DescriptorChannels.writing(process.stdin.fileDescriptor, on: channel.eventLoop) : nil
        try? process.stdin.close()
        let input = Task {
            // Closing a channel drops its queued writes: stdin's end waits for the last write.
            var lastWrite: EventLoopFuture<Void>?
            for await frame in frames where frame.opcode == .binary || frame.opcode == .text {
                var data = frame.data
                guard let number = data.readInteger(as: UInt8.self) else { continue }
                switch number {
                case 0: lastWrite = writer?.writeAndFlush(data)
                case 255 where version5 || spdy:
                    if let writer {
                        (lastWrite ?? writer.eventLoop.makeSucceededVoidFuture()).whenComplete { _ in
                            writer.close(promise: nil)
                        }
                    }
                default: break
                }
            }
            // The client went away: nothing should keep running for it.
            process.terminate()
        }
        let code = await process.wait()
        _ = try? await stdoutClosed.futureResult.and(stderrClosed.futureResult).timeout(
            after: .seconds(2), on: channel.eventLoop)
        input.cancel()
        _ = try? await writer?.close().get()
        for pipe in pipes { _ = try? await pipe.close().get() }
        let status =
            code == 0
            ? Self.success
            : Self.failure(
                message:
                    "command terminated with non-zero exit code: error executing command \(command), exit code \(code)",
                exitCode: code)
        await finish(channel, status: status)
    }

    private func finish(_ channel: Channel, status: JSON) async {
        var buffer = channel.allocator.buffer(capacity: 256)
        buffer.writeBytes(status.encoded())
        try? await channel.sendChannelMessage(3, buffer).get()
        channel.sendClose()
    }

    static let success: JSON = ["metadata": [:], "status": "Success"]

    static func failure(message: String, exitCode: Int32?) -> JSON {
        var status: JSON = ["metadata": [:], "status": "Failure", "message": .string(message)]
        if let exitCode {
            status["reason"] = "NonZeroExitCode"
            status["details"] = ["causes": [["reason": "ExitCode", "message": .string(String(exitCode))]]]
        } else {
            status["reason"] = "InternalError"
        }
        return status
    }
}

extension EventLoopFuture where Value: Sendable {
    /// Fails after `timeout`; the original future keeps running.
    func timeout(after timeout: TimeAmount, on loop: EventLoop) async throws -> Value {
        let promise = loop.makePromise(of: Value.self)
        let timer = loop.scheduleTask(in: timeout) { promise.fail(ChannelError.connectTimeout(timeout)) }
        self.whenComplete { result in
            timer.cancel()
            promise.completeWith(result)
        }
        return try await promise.futureResult.get()
    }
}
