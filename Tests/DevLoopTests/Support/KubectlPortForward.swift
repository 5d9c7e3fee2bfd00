import Foundation

@testable import DevLoop

struct ProbeError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `kubectl port-forward pod/NAME :PORT` as a child process; its chosen port is read from its output.
final class KubectlPortForward: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()

    init(kubeconfig: String, namespace: String, pod: String, remotePort: Int = 8080) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/kubectl")
        process.arguments = [
            "--kubeconfig", kubeconfig, "-n", namespace, "port-forward", "pod/\(pod)", ":\(remotePort)",
        ]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func port() async throws -> UInt16 {
        let handle = output.fileHandleForReading
        return try await BlockingWork.run { _ in
            var text = ""
            while !text.contains("\n") {
                let chunk = handle.availableData
                guard !chunk.isEmpty else { throw ProbeError("kubectl port-forward ended: \(text)") }
                text += String(decoding: chunk, as: UTF8.self)
            }
            // "Forwarding from 127.0.0.1:PORT -> REMOTE"
            guard let range = text.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
                let port = UInt16(text[range].split(separator: ":").last ?? "")
            else { throw ProbeError("no port in kubectl's output: \(text)") }
            return port
        }
    }

    /// Sends TERM; Foundation reaps the process when it ends (nothing waits here, so a `defer` may call it).
    func stop() {
        process.terminate()
    }
}
