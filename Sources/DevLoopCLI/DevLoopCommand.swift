import ArgumentParser
import DevLoop
import Foundation

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

    /// ArgumentParser's own main ends in exit(), whose atexit handlers (OpenSSL's cleanup among them)
    /// raced libcurl threads still closing a cancelled transfer's TLS connection: `up` and `logs` died
    /// of SIGSEGV about one run in five after Ctrl-C. A command has stopped what it started when it
    /// returns, so the process ends without those handlers.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
            endProcess(0)
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if !message.isEmpty {
                (code == .success ? FileHandle.standardOutput : FileHandle.standardError)
                    .write(Data((message + "\n").utf8))
            }
            endProcess(code.rawValue)
        }
    }

    private static func endProcess(_ status: Int32) -> Never {
        fflush(nil)
        _exit(status)
    }
}
