import Foundation

/// The channel protocols of exec streams (k8s.io/apimachinery/pkg/util/remotecommand).
public enum StreamProtocol: String, Sendable, CaseIterable {
    /// 1.30+ API servers: adds channel 255 to close stdin.
    case v5 = "v5.channel.k8s.io"
    /// Every supported API server; no way to signal stdin EOF.
    case v4 = "v4.channel.k8s.io"
}

/// What to run in a container.
public struct ExecRequest: Sendable {
    public var namespace: String
    public var pod: String
    public var container: String?
    public var command: [String]
    public var stdin: Data
    /// The protocols offered, in preference order. Tests offer only `.v4` to act as a 1.25 server would.
    public var protocols: [StreamProtocol]
    /// How long the whole exec may take, connect included; past it the stream is dropped and
    /// `KubeClientError.execTimedOut` thrown. Builds in the pod want a longer one.
    public var timeout: Duration
    /// The most stdout kept; past it the stream is dropped and `KubeClientError.execOutputTooLarge`
    /// thrown (a listing of 100,000 files is about 8 MiB).
    public var stdoutLimit: Int
    /// How much of the end of stderr is kept (for error messages); the rest is dropped and counted.
    public var stderrTail: Int

    public static let defaultTimeout: Duration = .seconds(120)
    public static let defaultStdoutLimit = 32 << 20
    public static let defaultStderrTail = 64 << 10

    public init(
        namespace: String, pod: String, container: String? = nil, command: [String], stdin: Data = Data(),
        protocols: [StreamProtocol] = [.v5, .v4], timeout: Duration = ExecRequest.defaultTimeout,
        stdoutLimit: Int = ExecRequest.defaultStdoutLimit, stderrTail: Int = ExecRequest.defaultStderrTail
    ) {
        self.stdoutLimit = stdoutLimit
        self.stderrTail = stderrTail
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.command = command
        self.stdin = stdin
        self.protocols = protocols
        self.timeout = timeout
    }
}

/// Runs a command in a pod over a WebSocket exec stream and collects stdout, stderr and the exit code.
///
/// Finite stdin under v4: the protocol cannot say "end of input", so a command such as `tar -x` would
/// wait forever. Whenever v4 may be chosen (it is offered and this server has not already shown it picks
/// v5), the command runs as `sh -c 'head -c N | "$0" "$@"' command args…`: `head` hands exactly the N
/// bytes to the command and then closes its stdin, and the pipeline's exit status is the command's. The
/// choice is made before connecting because the command is part of the upgrade request itself; the cost
/// is that the container needs `sh` and `head` (any busybox or distro image has them).
public struct PodExec: Sendable {
    public let client: KubeClient

    public init(client: KubeClient) {
        self.client = client
    }

    /// The drain after the command: whatever it left unread of the N bytes is read away, so the
    /// API server's copy of stdin never blocks (on a 1.25 kubelet a blocked copy holds the exit
    /// status back for ever), and the command's status is the group's.
    static func v4Wrapper(bytes: Int) -> String {
        #"head -c \#(bytes) | { "$0" "$@"; rc=$?; cat >/dev/null; exit $rc; }"#
    }

    public func run(_ request: ExecRequest) async throws -> ExecResult {
        try await withThrowingTaskGroup(of: ExecResult?.self) { group in
            group.addTask { try await self.runUnbounded(request) }
            group.addTask {
                try await Task.sleep(for: request.timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else {
                throw KubeClientError.execTimedOut(command: request.command, after: request.timeout)
            }
            return result
        }
    }

    private func runUnbounded(_ request: ExecRequest) async throws -> ExecResult {
        let hasStdin = !request.stdin.isEmpty
        let knownV5 = client.streamProtocols.withLock { $0 } == StreamProtocol.v5.rawValue
        let wrap = hasStdin && request.protocols.contains(.v4) && !(knownV5 && request.protocols.contains(.v5))
        let command =
            wrap
            ? ["sh", "-c", Self.v4Wrapper(bytes: request.stdin.count)] + request.command
            : request.command
        let (connection, chosen) = try await connect(request, command: command, stdin: hasStdin)
        if chosen == .v4, hasStdin, !wrap {
            connection.cancel()
            throw KubeClientError.protocolViolation("the server chose v4.channel.k8s.io after choosing v5 before")
        }
        do {
            let session = ExecSession(
                connection: connection, protocol: chosen, command: request.command, stdoutLimit: request.stdoutLimit,
                stderrTail: request.stderrTail)
            return try await withTaskCancellationHandler {
                try await session.run(stdin: request.stdin)
            } onCancel: {
                connection.cancel()
            }
        } catch KubeClientError.execFailed(let detail) where wrap && detail.contains("executable file not found") {
            throw KubeClientError.execFailed(
                detail + " (exec with stdin against an API server before 1.30, which has only the v4 protocol, "
                    + "runs the command under `sh -c 'head -c N | …'`: the container needs sh, head and cat, which "
                    + "distroless and scratch images lack)")
        }
    }
}

extension PodExec {
    /// The exec's WebSocket and the channel protocol the server chose (remembered for the next exec).
    func connect(_ request: ExecRequest, command: [String], stdin: Bool) async throws -> (
        WebSocketConnection, StreamProtocol
    ) {
        var query = command.map { ("command", $0) }
        if let container = request.container { query.append(("container", container)) }
        query += [("stdin", stdin ? "true" : "false"), ("stdout", "true"), ("stderr", "true")]
        let path = "/api/v1/namespaces/\(request.namespace)/pods/\(request.pod)/exec"
        let connection = try await client.webSocket(path, query: query, protocols: request.protocols.map(\.rawValue))
        guard let chosen = StreamProtocol(rawValue: connection.subprotocol) else {
            connection.cancel()
            throw KubeClientError.protocolViolation(
                "exec stream negotiated \"\(connection.subprotocol)\" instead of v5 or v4.channel.k8s.io")
        }
        client.streamProtocols.withLock { $0 = chosen.rawValue }
        return (connection, chosen)
    }
}

/// One exec stream: stdin out on channel 0 (closed with channel 255 under v5), stdout/stderr in on
/// channels 1 and 2, the exit status as a metav1.Status on channel 3.
struct ExecSession {
    let connection: WebSocketConnection
    let `protocol`: StreamProtocol
    let command: [String]
    let stdoutLimit: Int
    let stderrTail: Int
    static let chunkSize = 64 * 1024

    func run(stdin: Data) async throws -> ExecResult {
        let sender = Task { [connection, protocolVersion = self.protocol] in
            var offset = stdin.startIndex
            while offset < stdin.endIndex {
                let end = min(offset + Self.chunkSize, stdin.endIndex)
                try await connection.send(Data([0]) + stdin[offset..<end])
                offset = end
            }
            if protocolVersion == .v5, !stdin.isEmpty { try await connection.send(Data([255, 0])) }
        }
        defer { sender.cancel() }
        var stdout = BoundedOutput(limit: stdoutLimit)
        var stderr = OutputTail(limit: stderrTail)
        var status: JSONValue?
        var overflowed = false
        do {
            reading: for try await message in connection.messages {
                guard let channel = message.first else { continue }
                let payload = message.dropFirst()
                switch channel {
                case 1:
                    guard stdout.append(payload) else {
                        overflowed = true
                        break reading
                    }
                case 2: stderr.append(payload)
                case 3 where !payload.isEmpty:
                    // JSON Status in v4/v5; older protocols sent the error as plain text.
                    status =
                        (try? JSONValue.decode(Data(payload)))
                        ?? .object(["message": .string(String(decoding: payload, as: UTF8.self))])
                default: break
                }
            }
        } catch {
            connection.cancel()
            // After the exit status, a dropped connection (an RST once a proxy closes) only ends the stream.
            if status == nil { throw error }
        }
        if overflowed {
            connection.cancel()
            throw KubeClientError.execOutputTooLarge(command: command, limit: stdoutLimit)
        }
        guard let status else {
            throw KubeClientError.protocolViolation("the exec stream ended without an exit status")
        }
        return ExecResult(
            exitCode: try Self.exitCode(status), stdout: stdout.data, stderr: stderr.data,
            stderrDropped: stderr.droppedBytes)
    }

    static func exitCode(_ status: JSONValue) throws -> Int32 {
        if status["status"]?.string == "Success" { return 0 }
        if status["reason"]?.string == "NonZeroExitCode",
            let cause = status[path: "details", "causes"]?.array?.first(where: { $0["reason"]?.string == "ExitCode" }),
            let code = cause["message"]?.string.flatMap({ Int32($0) })
        {
            return code
        }
        throw KubeClientError.execFailed(status["message"]?.string ?? "the command could not be run")
    }
}

/// The sync engine's `ContainerExecutor`, backed by pod exec.
public struct PodExecutor: StreamingContainerExecutor {
    public var exec: PodExec
    public var namespace: String
    public var pod: String
    public var container: String?

    public init(client: KubeClient, namespace: String, pod: String, container: String? = nil) {
        self.exec = PodExec(client: client)
        self.namespace = namespace
        self.pod = pod
        self.container = container
    }

    public func run(_ command: [String], stdin: Data) async throws -> ExecResult {
        try await exec.run(
            ExecRequest(namespace: namespace, pod: pod, container: container, command: command, stdin: stdin))
    }

    public func open(_ command: [String]) async throws -> any ContainerStream {
        try await exec.open(ExecRequest(namespace: namespace, pod: pod, container: container, command: command))
    }
}
