import Foundation

/// The result of a command run in a container.
public struct ExecResult: Sendable, Equatable {
    public var exitCode: Int32
    public var stdout: Data
    /// The end of stderr: a pod exec keeps its last `ExecRequest.stderrTail` bytes.
    public var stderr: Data
    /// How many bytes of stderr came before `stderr` and were dropped.
    public var stderrDropped: Int

    public init(exitCode: Int32, stdout: Data, stderr: Data, stderrDropped: Int = 0) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.stderrDropped = stderrDropped
    }
}

/// Runs a command in the dev container with a finite stdin: the seam between the sync engine's
/// `ExecTarTransport` and the Kube client's pod exec. Tests put a local-process runner in.
public protocol ContainerExecutor: Sendable {
    func run(_ command: [String], stdin: Data) async throws -> ExecResult
}

/// What a command kept running in the container writes, as it comes.
public enum ContainerOutput: Sendable, Equatable {
    case stdout(Data)
    case stderr(Data)
    /// The command ended with this status; nothing follows.
    case exit(Int32)
}

/// A command in the container whose stdin stays open for as long as the caller wants: it reads
/// framed input and never needs stdin's end (which Kubernetes before 1.30 cannot send).
public protocol ContainerStream: Sendable {
    /// Waits until the bytes are on their way (backpressure); throws once the stream is broken.
    func write(_ data: Data) async throws
    /// For one reader. Ends after `.exit`; throws when the stream breaks before the exit status.
    var output: AsyncThrowingStream<ContainerOutput, Error> { get }
    /// Drops the stream at once, without waiting for the container; `output` then ends.
    func cancel()
}

/// A `ContainerExecutor` that can also keep a command running: exec+tar then ships batch after
/// batch into one exec instead of paying an exec per batch.
public protocol StreamingContainerExecutor: ContainerExecutor {
    func open(_ command: [String]) async throws -> any ContainerStream
    /// Opens a stream to be used later, with a way to tell then whether it still reaches the container
    /// a fresh `open` would (the pod may have been replaced meanwhile).
    func openAhead(_ command: [String]) async throws -> StreamOpenedAhead
}

/// A stream opened before it is needed, and whether it still reaches the container in use.
public struct StreamOpenedAhead: Sendable {
    public let stream: any ContainerStream
    public let isCurrent: @Sendable () async -> Bool

    public init(stream: any ContainerStream, isCurrent: @escaping @Sendable () async -> Bool) {
        self.stream = stream
        self.isCurrent = isCurrent
    }
}

extension StreamingContainerExecutor {
    /// For executors that always reach the same container.
    public func openAhead(_ command: [String]) async throws -> StreamOpenedAhead {
        StreamOpenedAhead(stream: try await open(command), isCurrent: { true })
    }
}
