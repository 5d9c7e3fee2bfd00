import ArgumentParser
import DevLoop
import Foundation

/// `devloop logs`: every container of every dev pod, prefixed.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Stream the logs of every container of every dev pod, each line prefixed with pod/container.",
        discussion: "Exit status: 0 ok, 1 no cluster or a failure, 2 bad input.")

    @OptionGroup var options: ConfigOption

    @Option(help: "Only lines newer than this (e.g. 30s, 5m, 1h).")
    var since: String?

    @Option(help: "Only the last N lines of each container to start with.")
    var tail: Int?

    @Flag(help: "Prefix each line with its timestamp.")
    var timestamps = false

    @Flag(help: "Print what is there and exit instead of following.")
    var noFollow = false

    func run() async throws {
        let config = try options.load()
        var sinceDuration: Duration?
        if let since {
            guard let parsed = Duration.parse(since) else { throw Exit.badInput("--since \(since): not a duration") }
            sinceDuration = parsed
        }
        if let tail, tail < 0 { throw Exit.badInput("--tail must not be negative") }
        let connection = try await Exit.sessionCluster(of: config)
        let streamer = PodLogStreamer(
            client: connection.client, namespace: config.namespace, selector: config.pod.labelSelector,
            options: PodLogOptions(since: sinceDuration, tail: tail, timestamps: timestamps, follow: !noFollow))
        let formatter = LogRecordFormatter(colour: StatusPrinter.wantsColour, timestamps: timestamps)
        let signals = SignalWaiter(SIGINT, SIGTERM)
        let reading = Task {
            for try await record in streamer.records() { Output.line(formatter.format(record)) }
        }
        let stopper = Task {
            await signals.wait()
            reading.cancel()
        }
        let result = await reading.result
        stopper.cancel()
        if case .failure(let error) = result { throw Exit.failure("\(error)") }
    }
}
