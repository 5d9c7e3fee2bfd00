import ArgumentParser
import DevLoop
import Dispatch
import Foundation

/// Options every session command shares.
struct ConfigOption: ParsableArguments {
    @Option(help: "The devloop config file.")
    var config: String = "dev/devloop.yaml"

    /// The config, or exit 2 naming file, line and field.
    func load() throws -> DevLoopConfig {
        do {
            return try ConfigLoader.load(path: config)
        } catch {
            throw Exit.badInput("\(error)")
        }
    }
}

/// Ends a command with a message on stderr and the project's exit codes.
enum Exit {
    static func badInput(_ message: String) -> ExitCode {
        Output.error(message)
        return ExitCode(2)
    }

    static func failure(_ message: String) -> ExitCode {
        Output.error(message)
        return ExitCode.failure
    }

    /// The cluster of the running (or last) session, or exit 1 saying why there is none.
    static func sessionCluster(of config: DevLoopConfig) async throws -> ClusterConnection {
        let connection: ClusterConnection?
        do {
            connection = try await SessionCluster.connect(root: config.root)
        } catch {
            throw failure("\(error)")
        }
        guard let connection else { throw failure("no cluster: the embedded kubesim runs only during `devloop up`") }
        return connection
    }
}

enum Output {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data(("devloop: " + text + "\n").utf8))
    }
}

/// Turns SIGTERM/SIGINT into an awaitable event, so the session stops what it started before exiting.
final class SignalWaiter: @unchecked Sendable {
    private let sources: [DispatchSourceSignal]
    private let stream: AsyncStream<Int32>

    init(_ signals: Int32...) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }

    func wait() async {
        for await _ in stream { return }
    }
}

extension Duration {
    var shortText: String {
        let ms = Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
        return ms < 1000 ? "\(Int(ms.rounded())) ms" : String(format: "%.1f s", ms / 1000)
    }

    /// `30s`, `5m`, `1h`, `250ms`.
    static func parse(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let number = Double(text.dropLast(suffix.count)), number >= 0 else { return nil }
            return .milliseconds(Int64(number * factor * 1000))
        }
        return nil
    }
}
