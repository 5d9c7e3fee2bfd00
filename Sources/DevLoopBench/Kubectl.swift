import Foundation

/// The real kubectl, the baseline every comparison runs beside.
struct Kubectl: Sendable {
    static let path = "/usr/bin/kubectl"
    let kubeconfig: String

    /// Runs kubectl to its end (bounded): exit status and combined output.
    func run(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (status: Int32, output: String) {
        let kubeconfig = kubeconfig
        return try await Probe.run {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.path)
            process.arguments = ["--kubeconfig", kubeconfig] + arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            let ended = DispatchSemaphore(value: 0)
            process.terminationHandler = { _ in ended.signal() }
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            if ended.wait(timeout: .now() + .seconds(Int(timeout.components.seconds))) == .timedOut {
                process.terminate()
                throw BenchError("kubectl \(arguments.joined(separator: " ")) did not end within \(timeout)")
            }
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
    }

    /// Runs kubectl and fails unless it exits 0.
    @discardableResult
    func check(_ arguments: [String]) async throws -> String {
        let result = try await run(arguments)
        guard result.status == 0 else {
            throw BenchError("kubectl \(arguments.joined(separator: " ")) exited \(result.status): \(result.output)")
        }
        return result.output
    }
}

/// `kubectl port-forward TARGET :PORT` as a child process; its chosen port is read from its output.
final class KubectlPortForward: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()

    init(kubeconfig: String, namespace: String, target: String, remotePort: Int) throws {
        process.executableURL = URL(fileURLWithPath: Kubectl.path)
        process.arguments = ["--kubeconfig", kubeconfig, "-n", namespace, "port-forward", target, ":\(remotePort)"]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// The local port, once kubectl says "Forwarding from 127.0.0.1:PORT -> ...".
    func port() async throws -> UInt16 {
        let handle = output.fileHandleForReading
        return try await Probe.run {
            var text = ""
            while !text.contains("\n") {
                let chunk = handle.availableData
                guard !chunk.isEmpty else { throw BenchError("kubectl port-forward ended: \(text)") }
                text += String(decoding: chunk, as: UTF8.self)
            }
            guard let range = text.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
                let port = UInt16(text[range].split(separator: ":").last ?? "")
            else { throw BenchError("no port in kubectl's output: \(text)") }
            return port
        }
    }

    var isRunning: Bool { process.isRunning }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
