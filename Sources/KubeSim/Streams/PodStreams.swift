import Foundation
import NIOCore

/// The kubelet's streaming endpoints: `pods/log`, `pods/exec` and `pods/portforward`.
final class PodStreams: Sendable {
    let api: APIService
    let runtime: PodRuntime
    let kubelet: Kubelet
    let profile: APIServerProfile
    /// Where the exec, attach and port-forward sessions run: `stop()` waits for them before it shuts
    /// the event loops down, as a session that closes its channel on a loop already shut down is a
    /// crash of NIO's leaked-promise check (seen when an exec kept open met a kubesim restart).
    let sessions: OpenStreams

    init(
        api: APIService, runtime: PodRuntime, kubelet: Kubelet, profile: APIServerProfile = .current,
        sessions: OpenStreams
    ) {
        self.api = api
        self.runtime = runtime
        self.kubelet = kubelet
        self.profile = profile
        self.sessions = sessions
    }

    /// The pod and the container a stream targets, or the error kube-apiserver and the kubelet answer.
    func target(namespace: String, name: String, container: String?, needsRunning: Bool) async throws -> (
        pod: JSON, container: String
    ) {
        let pod = try await api.get(.pods, namespace: namespace, name: name)
        let names = (pod[path: ["spec", "containers"]]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        let initNames = (pod[path: ["spec", "initContainers"]]?.arrayValue ?? []).compactMap {
            $0["name"]?.stringValue
        }
        let chosen: String
        if let container, !container.isEmpty {
            guard names.contains(container) || initNames.contains(container) else {
                throw APIError.badRequest("container \(container) is not valid for pod \(name)")
            }
            chosen = container
        } else if names.count == 1 {
            chosen = names[0]
        } else {
            throw APIError.badRequest(
                "a container name must be specified for pod \(name), choose one of: [\(names.joined(separator: " "))]")
        }
        if needsRunning {
            guard
                pod[path: ["status", "phase"]]?.stringValue == "Running"
                    || pod[path: ["status", "phase"]] == "Pending",
                await isRunning(pod, chosen)
            else {
                throw APIError.badRequest(
                    "unable to upgrade connection: container not found (\"\(chosen)\")")
            }
        }
        return (pod, chosen)
    }

    private func isRunning(_ pod: JSON, _ container: String) async -> Bool {
        guard let status = await kubelet.status(uid: pod.uid) else { return false }
        return (status.containers + status.initContainers).contains { status in
            if status.name == container, case .running = status.state { return true }
            return false
        }
    }

    func planExec(namespace: String, name: String, request: HTTPRequest, offered: [String], spdy: Bool) async
        -> UpgradePlan?
    {
        // Over SPDY the client offers X-Stream-Protocol-Version headers; kubelet serves v4 there too.
        let spdyVersions = request.headers["x-stream-protocol-version"].flatMap { $0.split(separator: ",") }.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard
            let chosen = spdy
                ? spdyVersions.first(where: { $0 == "v4.channel.k8s.io" })
                : profile.execProtocols.first(where: offered.contains),
            let (pod, container) = try? await target(
                namespace: namespace, name: name, container: request.parameter("container"), needsRunning: true),
            let command = request.query["command"], !command.isEmpty
        else { return nil }
        let session = ExecSession(
            uid: pod.uid, container: container, command: command, tty: request.flag("tty"),
            stdin: request.flag("stdin"), stdout: request.flag("stdout"), stderr: request.flag("stderr"),
            version5: chosen.hasPrefix("v5"), spdy: spdy)
        let runtime = self.runtime
        if spdy {
            let expected = SPDYExecHandler.expectedStreams(
                stdin: session.stdin, stdout: session.stdout, stderr: session.stderr, tty: session.tty)
            return UpgradePlan(subprotocol: chosen) { channel in
                let (frames, ready) = try await SPDYExecHandler.install(on: channel, expected: expected)
                self.sessions.serve {
                    // kubelet starts the command once every stream is open; a client that never opens them is dropped.
                    guard (try? await ready.timeout(after: .seconds(30), on: channel.eventLoop)) != nil else {
                        _ = try? await channel.close().get()
                        return
                    }
                    await session.run(channel: channel, frames: frames, runtime: runtime)
                }
            }
        }
        return UpgradePlan(subprotocol: chosen) { channel in
            let frames = try await WebSocketInbox.install(on: channel)
            self.sessions.serve { await session.run(channel: channel, frames: frames, runtime: runtime) }
        }
    }

    func planPortForward(namespace: String, name: String, request: HTTPRequest, offered: [String], spdy: Bool) async
        -> UpgradePlan?
    {
        // A port belongs to the pod's network namespace, which all its containers share: no container to choose.
        guard let pod = try? await api.get(.pods, namespace: namespace, name: name),
            pod[path: ["status", "phase"]] == "Running"
        else { return nil }
        let uid = pod.uid
        let runtime = self.runtime
        let dial: @Sendable (Int) async throws -> Int32 = { port in try await runtime.dial(uid: uid, port: port) }
        if spdy {
            return UpgradePlan(subprotocol: "portforward.k8s.io") { channel in
                try await SPDYPortForwarding.installPlain(channel, podName: name, uid: uid, dial: dial)
            }
        }
        if profile.tunnelsSPDY, offered.contains("SPDY/3.1+portforward.k8s.io") {
            return UpgradePlan(subprotocol: "SPDY/3.1+portforward.k8s.io") { channel in
                try await SPDYPortForwarding.installTunneled(channel, podName: name, uid: uid, dial: dial)
            }
        }
        guard offered.isEmpty || offered.contains("v4.channel.k8s.io") || offered.contains("portforward.k8s.io")
        else { return nil }
        let ports = (request.query["ports"] ?? []).flatMap { $0.split(separator: ",") }.compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard !ports.isEmpty, ports.allSatisfy({ (1...65535).contains($0) }) else { return nil }
        let session = PortForwardSession(uid: uid, podName: name, ports: ports)
        let subprotocol = offered.contains("v4.channel.k8s.io") ? "v4.channel.k8s.io" : nil
        return UpgradePlan(subprotocol: subprotocol) { channel in
            let frames = try await WebSocketInbox.install(on: channel)
            self.sessions.serve { await session.run(channel: channel, frames: frames, runtime: runtime) }
        }
    }

    /// Why an exec or port-forward request was not upgraded.
    func refuseStream(_ kind: String, namespace: String, name: String, request: HTTPRequest) async throws
        -> HTTPResponse
    {
        let pod =
            kind == "portforward"
            ? try await api.get(.pods, namespace: namespace, name: name)
            : try await target(
                namespace: namespace, name: name, container: request.parameter("container"), needsRunning: true
            ).pod
        if kind == "attach" {
            // kubesim's runtime keeps no attachable stdio: answered as kube-apiserver answers when the
            // kubelet's CRI streaming server has attach disabled (its stream translator's InternalError).
            throw APIError(
                code: 500, reason: "InternalError",
                message:
                    "Internal error occurred: unable to upgrade connection: rpc error: code = NotFound desc = streaming method attach disabled"
            )
        }
        if kind == "portforward" {
            guard pod[path: ["status", "phase"]] == "Running" else {
                throw APIError.badRequest(
                    "pod \(name) is not running; current phase: \(pod[path: ["status", "phase"]]?.stringValue ?? "Unknown")"
                )
            }
        }
        // The API server has checked the pod; the kubelet's WebSocket handshake refuses the subprotocol.
        if profile.refusesUnknownSubprotocolBare, request.headers.first(name: "upgrade")?.lowercased() == "websocket" {
            let offered = request.headers["sec-websocket-protocol"].flatMap { $0.split(separator: ",") }.map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            let supported = kind == "exec" ? profile.execProtocols : ["portforward.k8s.io", "v4.channel.k8s.io"]
            if !offered.isEmpty, !offered.contains(where: supported.contains) { return .bare(.forbidden) }
        }
        if kind == "portforward" {
            let ports = (request.query["ports"] ?? []).flatMap { $0.split(separator: ",") }
            if ports.isEmpty { throw APIError.badRequest("query parameter \"port\" is required") }
        }
        if kind == "exec" && (request.query["command"] ?? []).isEmpty {
            throw APIError.badRequest("you must specify at least 1 command")
        }
        throw APIError.badRequest("Upgrade request required")
    }
}

/// Puts the runtime's SPDY/3.1 port-forward codec on an upgraded connection.
enum SPDYPortForwarding {
    /// After a WebSocket upgrade with `SPDY/3.1+portforward.k8s.io`: SPDY frames in binary messages.
    static func installTunneled(
        _ channel: Channel, podName: String, uid: String, dial: @escaping SPDYPortForwardHandler.Dial
    ) async throws {
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandlers([
                WebSocketByteStreamHandler(), SPDYPortForwardHandler(podName: podName, uid: uid, dial: dial),
            ])
        }.get()
    }

    /// After a plain `Upgrade: SPDY/3.1` (kubectl's fallback).
    static func installPlain(
        _ channel: Channel, podName: String, uid: String, dial: @escaping SPDYPortForwardHandler.Dial
    ) async throws {
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(
                SPDYPortForwardHandler(podName: podName, uid: uid, dial: dial))
        }.get()
    }
}
