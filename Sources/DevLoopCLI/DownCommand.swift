import ArgumentParser
import DevLoop
import Foundation

/// `devloop down`: stops the running session and deletes the dev namespace devloop labelled. Idempotent.
struct DownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop the running session and delete the dev namespace (only if it carries the devloop label).",
        discussion: "Exit status: 0 nothing of the session is left, 1 something could not be stopped, 2 bad input.")

    @OptionGroup var options: ConfigOption

    @Option(help: "How long to wait for the session to stop, in seconds.")
    var timeout: Int = 60

    func run() async throws {
        let config = try options.load()
        let root = config.root
        if let pid = SessionLock.runningSession(root: root) {
            // The session deletes its namespace on the way out when it finds this marker.
            _ = FileManager.default.createFile(atPath: DevSession.downRequestPath(root: root), contents: Data())
            guard kill(pid_t(pid), SIGTERM) == 0 || errno == ESRCH else {
                throw Exit.failure("cannot signal the session (pid \(pid)): \(String(cString: strerror(errno)))")
            }
            let deadline = ContinuousClock.now + .seconds(timeout)
            while SessionLock.runningSession(root: root) != nil {
                guard ContinuousClock.now < deadline else {
                    throw Exit.failure("the session (pid \(pid)) did not stop within \(timeout) s")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            Output.line("stopped the session (pid \(pid))")
        }
        let embedded = SessionState.read(root: root)?.cluster?.kind == "embedded"
        let connection: ClusterConnection?
        do {
            if embedded {
                connection = try await EmbeddedCluster.start(root: root)
            } else {
                connection = try await SessionCluster.connect(root: root)
            }
        } catch {
            throw Exit.failure("\(error)")
        }
        guard let connection else {
            Output.line("nothing to stop: no session and no cluster for \(config.file)")
            return
        }
        defer { Task { await connection.stop() } }
        do {
            try await Self.deleteNamespace(config.namespace, client: connection.client)
        } catch let error as DevNamespaceError {
            await connection.stop()
            throw Exit.badInput("\(error)")
        } catch {
            await connection.stop()
            throw Exit.failure("\(error)")
        }
        await connection.stop()
    }

    /// Deletes the namespace when it is a dev namespace, and waits (bounded) until it is gone.
    static func deleteNamespace(_ name: String, client: KubeClient) async throws {
        do {
            _ = try await DevNamespace.verify(client: client, name: name)
            try await client.delete("/api/v1/namespaces/\(name)")
        } catch DevNamespaceError.notFound {
            Output.line("namespace \(name) does not exist")
            return
        } catch DevNamespaceError.terminating {
            // Already going: wait for it below.
        } catch let error as KubeClientError where error.statusCode == 404 {
            return
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            do {
                _ = try await client.get("/api/v1/namespaces/\(name)")
            } catch let error as KubeClientError where error.statusCode == 404 {
                Output.line("namespace \(name) deleted")
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw SessionError.cluster("namespace \(name) is still terminating after 60 s")
    }
}
