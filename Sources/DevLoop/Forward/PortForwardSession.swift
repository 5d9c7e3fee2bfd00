import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A port-forward that lives as long as the dev session: one local port for the whole session, and
/// each new TCP connection goes to the target source's current ready pod, so the forward follows the
/// pod through server restarts, container restarts and replacement with nothing rebuilt.
///
/// All connections to one pod share one upgraded SPDY/3.1 connection (a stream pair each, as kubectl),
/// replaced when the pod's uid changes. A connection that arrives while no server listens waits: until
/// the pod side answers, the client's bytes are kept, and a refused dial (or a lost pod) is retried on
/// a fresh stream (`DialRetrySchedule`: every few ms for the first second, then backing off) until
/// `spec.waitTimeout`.
public final class PortForwardSession: Sendable {
    public let client: KubeClient
    public let spec: ForwardSpec
    private let target: any PodTargetSource
    private let remotePort: @Sendable (PodTarget) async throws -> UInt16
    private let logger: Logger
    private let pool: PodConnectionPool
    private let state = Mutex(State())
    private let eventStream: AsyncStream<ForwardEvent>
    private let eventSink: AsyncStream<ForwardEvent>.Continuation
    private let requestIDs = Mutex(0)
    private let retrySchedule = DialRetrySchedule()

    private struct State {
        var listener: LocalListener?
        var connections: [ObjectIdentifier: ForwardedConnection] = [:]
        var handlers: [Int: Task<Void, Never>] = [:]
        var nextHandler = 0
        var stopped = false
    }

    /// `remotePort` resolves `spec.remotePort` when it is a container port's name (a number is used as
    /// it is); `forwardProtocol` forces a carrier (tests, or a cluster known to need one).
    public init(
        client: KubeClient, target: any PodTargetSource, spec: ForwardSpec,
        remotePort: @escaping @Sendable (PodTarget) async throws -> UInt16 = { _ in
            throw PortForwardError.portName("(unresolved)")
        },
        logger: Logger = Logger(label: "devloop.forward"), forwardProtocol: PortForwardProtocol = .auto
    ) {
        self.client = client
        self.target = target
        self.spec = spec
        self.remotePort = remotePort
        self.logger = logger
        (eventStream, eventSink) = AsyncStream.makeStream(of: ForwardEvent.self, bufferingPolicy: .bufferingNewest(256))
        let sink = eventSink
        pool = PodConnectionPool(client: client, mode: forwardProtocol, logger: logger) { sink.yield($0) }
    }

    /// connected / failed / target-changed, for status lines. One consumer.
    public var events: AsyncStream<ForwardEvent> { eventStream }

    /// Binds `spec.address:spec.localPort` (0 picks a free port) and returns the port.
    @discardableResult
    public func start() async throws -> UInt16 {
        if let running = state.withLock({ $0.listener }) { return running.port }
        let listener = try LocalListener(address: spec.address, port: spec.localPort)
        state.withLock { $0.listener = listener }
        listener.start { [self] socket in accepted(socket) }
        eventSink.yield(.listening(address: listener.address, port: listener.port))
        logger.info("forwarding \(listener.address):\(listener.port) -> \(spec.remotePort)")
        return listener.port
    }

    /// The bound port, once started.
    public var localPort: UInt16? { state.withLock { $0.listener?.port } }

    /// Stops listening and ends every forwarded connection; returns within a few seconds.
    public func stop() async {
        let (listener, connections, handlers) = state.withLock { state in
            state.stopped = true
            defer {
                state.connections = [:]
                state.handlers = [:]
            }
            return (state.listener, Array(state.connections.values), Array(state.handlers.values))
        }
        listener?.stop()
        connections.forEach { $0.cancel() }
        handlers.forEach { $0.cancel() }
        await pool.stop()
        if let listener { _ = await Self.offThread { listener.waitUntilStopped(timeout: 5) } }
        eventSink.finish()
    }

    private func accepted(_ socket: Int32) {
        let connection = ForwardedConnection(local: socket) { [eventSink] message in
            eventSink.yield(.failed(message))
        }
        let admitted = state.withLock { state -> Int? in
            guard !state.stopped else { return nil }
            state.connections[ObjectIdentifier(connection)] = connection
            state.nextHandler += 1
            return state.nextHandler
        }
        guard let number = admitted else {
            Glibc.close(socket)
            return
        }
        connection.start()
        let task = Task { [self] in
            await carry(connection)
            state.withLock { state in
                state.connections[ObjectIdentifier(connection)] = nil
                state.handlers[number] = nil
            }
        }
        state.withLock { state in
            if state.connections[ObjectIdentifier(connection)] != nil { state.handlers[number] = task }
        }
    }

    /// Finds the pod side for one connection, retrying refused dials until `waitTimeout`.
    private func carry(_ connection: ForwardedConnection) async {
        let started = ContinuousClock.now
        let deadline = started + spec.waitTimeout
        var pause: Duration?
        var lastFailure = "no attempt was made"
        while !Task.isCancelled {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            do {
                let pod = try await target.readyTarget(within: left)
                let port = try await resolvePort(pod)
                let events = connection.nextAttempt()
                let requestID = requestIDs.withLock { id in
                    defer { id += 1 }
                    return id
                }
                let stream: ForwardStream
                switch try await pool.carrier(for: pod) {
                case .spdy(let spdy):
                    do {
                        stream = try spdy.openPair(port: port, requestID: requestID, delegate: events)
                    } catch {
                        await pool.discard(spdy)
                        throw error
                    }
                case .webSocketPerConnection:
                    let socket = try await client.webSocket(
                        "/api/v1/namespaces/\(pod.namespace)/pods/\(pod.name)/portforward",
                        query: [("ports", String(port))], protocols: ["v4.channel.k8s.io"],
                        handler: WebSocketForwardStream.receiver(for: events), readGate: { events.hasRoom })
                    stream = WebSocketForwardStream(connection: socket)
                }
                guard connection.attach(stream) else {
                    stream.reset()
                    lastFailure = "the client sent more than \(ForwardedConnection.replayLimit) bytes before any reply"
                    break
                }
                switch await connection.outcome() {
                case .confirmed, .ended:
                    return
                case .refused(let reason):
                    lastFailure = reason
                    logger.debug("port-forward to \(pod) refused (\(reason)); retrying")
                }
            } catch is CancellationError {
                break
            } catch {
                lastFailure = "\(error)"
                logger.debug("port-forward attempt failed: \(error)")
            }
            let next = retrySchedule.pause(afterWaiting: ContinuousClock.now - started, previous: pause)
            pause = next
            let bounded = min(next, deadline - ContinuousClock.now)
            guard bounded > .zero else { break }
            try? await Task.sleep(for: bounded)
        }
        if !Task.isCancelled {
            let message =
                "port-forward \(spec.address):\(localPort ?? spec.localPort) gave up after \(spec.waitTimeout): \(lastFailure)"
            logger.warning("\(message)")
            eventSink.yield(.failed(message))
        }
        connection.abandon()
    }

    private func resolvePort(_ pod: PodTarget) async throws -> UInt16 {
        if case .number(let number) = spec.remotePort { return number }
        return try await remotePort(pod)
    }

    private static func offThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: body()) }
        }
    }
}
