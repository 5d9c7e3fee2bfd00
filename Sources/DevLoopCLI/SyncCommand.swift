import ArgumentParser
import DevLoop
import Foundation

/// `devloop sync`: one full reconcile now, or (`--verify`) a comparison of local and pod contents.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Bring the dev pod in line with the local tree now; --verify only compares and lists differences.",
        discussion: "Exit status: 0 in line, 1 differences (--verify) or a failure, 2 bad input.")

    @OptionGroup var options: ConfigOption

    @Flag(help: "Compare local and destination contents, print every difference, change nothing.")
    var verify = false

    func run() async throws {
        let config = try options.load()
        let connection = try await Exit.sessionCluster(of: config)
        let tracker = PodTracker(
            client: connection.client, namespace: config.namespace, selector: config.pod.labelSelector,
            container: config.pod.container)
        let watch = Task { try await tracker.run() }
        defer { watch.cancel() }
        let executor = TrackedExecutor(client: connection.client, tracker: tracker, waitTimeout: .seconds(30))
        var differences = 0
        do {
            for mapping in config.sync {
                let transport = await TransportSelector.select(options: mapping.syncOptions, executor: executor)
                    .transport
                let engine = SyncEngine(options: mapping.syncOptions, transport: transport)
                if verify {
                    let operations = try await engine.differences()
                    differences += operations.count
                    for operation in operations { Output.line("\(mapping.local) -> \(mapping.remote): \(operation)") }
                } else {
                    let batch = try await engine.resync()
                    Output.line("\(mapping.local) -> \(mapping.remote): \(batch.operations.count) entries shipped")
                }
            }
        } catch {
            throw Exit.failure("\(error)")
        }
        if verify {
            Output.line(differences == 0 ? "in line: no differences" : "\(differences) differences")
            if differences > 0 { throw ExitCode.failure }
        }
    }
}
