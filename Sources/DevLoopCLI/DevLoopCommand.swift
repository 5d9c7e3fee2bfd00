import ArgumentParser
import DevLoop

@main
struct DevLoopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devloop",
        abstract: "A seconds-long inner loop against Kubernetes: edit, refresh, see the change.",
        discussion: """
            devloop syncs your sources into a dev pod, restarts its server on change, forwards \
            localhost:8080 to it and streams its logs. It only works in namespaces marked as dev \
            namespaces. Exit status everywhere: 0 ok, 1 failure at run time, 2 bad input.
            """,
        version: DevLoopVersion.current,
        subcommands: [
            UpCommand.self, DownCommand.self, StatusCommand.self, LogsCommand.self, SyncCommand.self,
            DoctorCommand.self,
        ]
    )
}
