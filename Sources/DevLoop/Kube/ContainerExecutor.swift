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
