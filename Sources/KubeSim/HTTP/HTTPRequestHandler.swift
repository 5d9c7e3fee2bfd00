import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Collects one HTTP request, hands it to the async responder, and writes the response: whole, or
/// chunk by chunk for streams (registered in `OpenStreams` so fault injection can cut them).
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    typealias Responder = @Sendable (HTTPRequestHead, ByteBuffer?, Channel) async -> HTTPResponse

    private let responder: Responder
    private let streams: OpenStreams
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?

    init(responder: @escaping Responder, streams: OpenStreams) {
        self.responder = responder
        self.streams = streams
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
        case .body(var chunk):
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard let head else { return }
            self.head = nil
            Self.serve(
                head: head, body: body, channel: context.channel, responder: responder, streams: streams)
        }
    }

    private static func serve(
        head: HTTPRequestHead, body: ByteBuffer?, channel: Channel, responder: @escaping Responder,
        streams: OpenStreams
    ) {
        streams.serve {
            let response = await responder(head, body, channel)
            await write(response, keepAlive: head.isKeepAlive, to: channel, streams: streams)
        }
    }

    private static func write(_ response: HTTPResponse, keepAlive: Bool, to channel: Channel, streams: OpenStreams)
        async
    {
        var headers = response.headers
        switch response.body {
        case .full(let data):
            headers.replaceOrAdd(name: "Content-Length", value: String(data.count))
            let head = HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: data))), promise: nil)
            await finish(channel, keepAlive: keepAlive)
        case .stream(let chunks):
            headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
            let head = HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)
            channel.writeAndFlush(HTTPServerResponsePart.head(head), promise: nil)
            let id = streams.register(channel)
            defer { streams.unregister(id) }
            // A closed connection ends the stream at once, not at its next chunk.
            let writer = Task {
                for await chunk in chunks {
                    guard channel.isActive else { break }
                    let part = HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: chunk)))
                    do { try await channel.writeAndFlush(part) } catch { break }
                }
            }
            channel.closeFuture.whenComplete { _ in writer.cancel() }
            await writer.value
            guard channel.isActive else { return }
            await finish(channel, keepAlive: keepAlive)
        }
    }

    private static func finish(_ channel: Channel, keepAlive: Bool) async {
        do {
            try await channel.writeAndFlush(HTTPServerResponsePart.end(nil))
            if !keepAlive { try await channel.close() }
        } catch {
            channel.close(promise: nil)
        }
    }
}

/// The open long-lived streams (watch, logs, exec, port-forward): fault injection cuts them all.
final class OpenStreams: Sendable {
    private let channels = Mutex<[UUID: Channel]>([:])

    func register(_ channel: Channel) -> UUID {
        let id = UUID()
        channels.withLock { $0[id] = channel }
        return id
    }

    func unregister(_ id: UUID) {
        _ = channels.withLock { $0.removeValue(forKey: id) }
    }

    func cutAll() {
        let open = channels.withLock { channels in
            defer { channels.removeAll() }
            return Array(channels.values)
        }
        for channel in open { channel.close(promise: nil) }
    }

    var count: Int { channels.withLock { $0.count } }

    /// The requests being answered: `stop()` waits for them before it shuts the event loops down, as a
    /// request that touches its channel (the client certificate) on a loop already shut down is a crash
    /// of NIO's leaked-promise check (seen when a test restarted kubesim under a reconnecting client).
    private let requests = Mutex<[UUID: Task<Void, Never>]>([:])

    func serve(_ work: @escaping @Sendable () async -> Void) {
        let id = UUID()
        // Made under the lock, so that the task's own removal always comes after its insertion.
        requests.withLock { requests in
            requests[id] = Task {
                await work()
                _ = self.requests.withLock { $0.removeValue(forKey: id) }
            }
        }
    }

    /// Returns once every request being answered has ended (their connections are closed), or after `limit`.
    func drainRequests(within limit: Duration) async {
        let open = requests.withLock { Array($0.values) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for task in open { await task.value } }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
    }
}
