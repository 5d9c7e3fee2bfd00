import ArgumentParser
import DevLoop
import Foundation

/// `devloop doctor`: checks that devloop can work with the cluster of the current (or given) context.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that devloop can work with a cluster: kubeconfig, server, TLS, credentials, permissions.",
        discussion: "Exit status: 0 devloop can work, 1 a check failed, 2 bad input (kubeconfig or context)."
    )

    @Option(help: "The kubeconfig context to use (default: current-context).")
    var context: String?

    @Option(help: "The dev namespace to check permissions in (default: the context's namespace).")
    var namespace: String?

    @Option(help: "A kubeconfig file to read instead of KUBECONFIG or ~/.kube/config.")
    var kubeconfig: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        let doctor = Doctor(
            loader: KubeConfigLoader(explicitPath: kubeconfig), context: context, namespace: namespace)
        let report = await doctor.run()
        for warning in report.warnings { FileHandle.standardError.write(Data((warning + "\n").utf8)) }
        print(json ? report.json() : report.text())
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
