import Foundation

/// The result of a command run in a container.
public struct ExecResult: Sendable, Equatable {
    public var exitCode: Int32
    public var stdout: Data
    public var stderr: Data

    public init(exitCode: Int32, stdout: Data, stderr: Data) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs a command in the dev container with a finite stdin: the seam between the sync engine's
/// `ExecTarTransport` and the Kube client's pod exec. Tests put a local-process runner in.
public protocol ContainerExecutor: Sendable {
    func run(_ command: [String], stdin: Data) async throws -> ExecResult
}
