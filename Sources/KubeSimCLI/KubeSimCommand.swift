import ArgumentParser
import Dispatch
import Foundation
import KubeSim

@main
struct KubeSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubesim",
        abstract: "A local single-node Kubernetes: API server and kubelet in one process, pods as local processes.",
        version: KubeSimInfo.version)

    @Option(name: .customLong("dir"), help: "The folder for state, certificates and the kubeconfig.")
    var directory: String

    @Option(help: "The port on 127.0.0.1 (0: any free port, written into the kubeconfig).")
    var port: Int = 0

    @Option(
        help:
            "The Kubernetes release the API server behaves like: 1.32, or 1.25 (v4 exec only, no SPDY tunnelled in WebSocket, bare 403 for an unknown WebSocket subprotocol)."
    )
    var profile: APIServerProfile = .current

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    }

    func run() async throws {
        let folder = URL(fileURLWithPath: directory).standardizedFileURL
        let signals = SignalWaiter(SIGTERM, SIGINT)
        let server: KubeSimServer
        do {
            server = try await KubeSimServer.start(directory: folder, options: .init(port: port, profile: profile))
        } catch {
            FileHandle.standardError.write(Data("kubesim: \(error)\n".utf8))
            throw ExitCode.failure
        }
        FileHandle.standardOutput.write(Data("kubesim ready: KUBECONFIG=\(server.kubeconfigPath)\n".utf8))
        await signals.wait()
        await server.stop()
    }
}

extension APIServerProfile: ExpressibleByArgument {}

/// Turns SIGTERM/SIGINT into an awaitable event, so kubesim stops its pods before exiting.
final class SignalWaiter {
    private let sources: [DispatchSourceSignal]
    private let stream: AsyncStream<Void>

    init(_ signals: Int32...) {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        self.stream = stream
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield() }
            source.resume()
            return source
        }
    }

    func wait() async {
        for await _ in stream { return }
    }
}
