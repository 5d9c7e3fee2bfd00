import Foundation
import Logging

/// The upgraded connection to the current pod, shared by every forwarded TCP connection while the
/// target's uid stays the same; replaced when it changes, dies or says GOAWAY. The protocol is chosen
/// once (kubectl's order under `auto`) and kept for the session.
actor PodConnectionPool {
    enum Carrier {
        case spdy(SPDYConnection)
        /// v4 WebSocket: no shared connection, one WebSocket per forwarded connection.
        case webSocketPerConnection
    }

    private let client: KubeClient
    private let logger: Logger
    private var mode: PortForwardProtocol
    private var current: (uid: String, name: String, task: Task<(SPDYConnection, PortForwardProtocol), Error>)?
    /// Connections to replaced pods, closed once their last stream ends.
    private var retired: [SPDYConnection] = []
    private let onEvent: @Sendable (ForwardEvent) -> Void
    private var lastTarget: PodTarget?
    private var stopped = false

    init(
        client: KubeClient, mode: PortForwardProtocol, logger: Logger,
        onEvent: @escaping @Sendable (ForwardEvent) -> Void
    ) {
        self.client = client
        self.mode = mode
        self.logger = logger
        self.onEvent = onEvent
    }

    func carrier(for target: PodTarget) async throws -> Carrier {
        guard !stopped else { throw CancellationError() }
        sweep()
        if let lastTarget, lastTarget.uid != target.uid || lastTarget.name != target.name {
            onEvent(.targetChanged(from: lastTarget, to: target))
        }
        lastTarget = target
        if mode == .webSocket { return .webSocketPerConnection }
        if let current, current.uid == target.uid, current.name == target.name {
            if let (connection, _) = try? await current.task.value, connection.isUsable { return .spdy(connection) }
            if self.current?.task == current.task { self.current = nil }
        }
        if let previous = current {
            self.current = nil
            if let (connection, _) = try? await previous.task.value { retire(connection) }
        }
        let task = Task { [client, mode, logger] in
            try await Self.open(client: client, target: target, mode: mode, logger: logger)
        }
        current = (target.uid, target.name, task)
        do {
            let (connection, chosen) = try await task.value
            mode = chosen
            onEvent(.connected(target: target, protocol: chosen))
            return .spdy(connection)
        } catch let refused as PortForwardUpgradeRefused where refused.fallBack && mode == .auto {
            // Neither SPDY upgrade was accepted: fall back to v4 WebSocket for the session.
            if current?.task == task { current = nil }
            mode = .webSocket
            logger.info("port-forward: SPDY refused (\(refused)); using v4 WebSocket streams")
            onEvent(.connected(target: target, protocol: .webSocket))
            return .webSocketPerConnection
        } catch {
            if current?.task == task { current = nil }
            throw error
        }
    }

    private static func open(client: KubeClient, target: PodTarget, mode: PortForwardProtocol, logger: Logger)
        async throws -> (SPDYConnection, PortForwardProtocol)
    {
        switch mode {
        case .spdyOverWebSocket, .spdy:
            let connection = try await client.spdyPortForward(
                namespace: target.namespace, pod: target.name, tunnelled: mode == .spdyOverWebSocket, logger: logger)
            return (connection, mode)
        case .auto:
            do {
                let connection = try await client.spdyPortForward(
                    namespace: target.namespace, pod: target.name, tunnelled: true, logger: logger)
                return (connection, .spdyOverWebSocket)
            } catch let refused as PortForwardUpgradeRefused where refused.fallBack {
                logger.debug("port-forward: SPDY over WebSocket refused (\(refused)); trying plain SPDY")
                let connection = try await client.spdyPortForward(
                    namespace: target.namespace, pod: target.name, tunnelled: false, logger: logger)
                return (connection, .spdy)
            }
        case .webSocket:
            throw CancellationError()
        }
    }

    /// A stream opened on `connection` failed at once: do not hand the connection out again.
    func discard(_ connection: SPDYConnection) async {
        if let current, let (open, _) = try? await current.task.value, open === connection {
            self.current = nil
        }
        connection.close()
    }

    private func retire(_ connection: SPDYConnection) {
        retired.append(connection)
        sweep()
    }

    private func sweep() {
        retired.removeAll { connection in
            guard connection.openPairs == 0 || !connection.isUsable else { return false }
            connection.close()
            return true
        }
    }

    func stop() async {
        stopped = true
        if let current, let (connection, _) = try? await current.task.value { connection.close() }
        current?.task.cancel()
        current = nil
        retired.forEach { $0.close() }
        retired = []
    }
}
