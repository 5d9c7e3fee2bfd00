import Foundation
import Glibc
import Testing

/// The frame every session test shares: `devloop up` for a fixture project against a kubesim of its
/// own, forwarding before `body` runs. `body` may replace the cluster (a kubesim restart). Afterwards
/// `stop` (Ctrl-C by default) must end `up` with exit 0; the cluster is stopped whatever happens, and
/// an `up` left behind by a throw is killed with its `DevLoopProcess`.
enum UpSession {
    static func run(
        _ project: FixtureProject, stop: Int32 = SIGINT,
        _ body: (inout KubeSimFixture, DevLoopProcess) async throws -> Void
    ) async throws {
        var cluster = try await KubeSimFixture.start()
        var up: DevLoopProcess?
        do {
            let session = try DevLoopProcess(
                ["up", "--config", project.config], directory: project.root, kubeconfig: cluster.server.kubeconfigPath)
            up = session
            try await session.waitForLine("the forward") { $0.contains("forwarding http://127.0.0.1:\(project.port)") }
            try await body(&cluster, session)
            session.signal(stop)
            #expect(await session.exitStatus() == 0, "\(session.output)")
        } catch {
            // What `up` said last is what explains a failed wait.
            if let up {
                print(
                    "devloop up printed, last 150 lines:\n"
                        + up.output.split(separator: "\n").suffix(150).joined(separator: "\n"))
            }
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}

extension DevLoopProcess {
    /// The name of the pod `up` reported ready (`pod NAME is ready`), from line number `from` on.
    func readyPod(from first: Int = 0, timeout: Duration = .seconds(90)) async throws -> String {
        let ready = try await waitForLine("the ready pod", timeout: timeout, from: first) { $0.hasSuffix(" is ready") }
        return String(ready.split(separator: " ")[1])
    }
}
