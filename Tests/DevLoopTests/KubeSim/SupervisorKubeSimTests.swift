import DevLoop
import Foundation
import KubeSim
import Testing

/// dev/supervisor.sh as the command of a kubesim pod, driven through pod exec by `InPodRestarter`, the
/// pod checked with the real kubectl: rebuilds and restarts happen inside the container, whose
/// `restartCount` stays 0.
@Suite(.timeLimit(.minutes(4))) struct SupervisorKubeSimTests {
    static func manifest(appFolder: String) -> String {
        """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: fixture-dev
          labels: {devloop.dev/dev: "true"}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: fixture
          namespace: fixture-dev
        spec:
          replicas: 1
          selector:
            matchLabels: {devloop.dev/pod: fixture}
          template:
            metadata:
              labels: {devloop.dev/pod: fixture}
            spec:
              containers:
              - name: app
                image: busybox
                command: ["/bin/sh", "-c"]
                args:
                - |
                  trap 'exit 0' TERM INT
                  until [ -f /app/dev/supervisor.sh ]; do sleep 0.2; done
                  exec /bin/sh /app/dev/supervisor.sh run
                env:
                - {name: DEVLOOP_APP_DIR, value: /app}
                - {name: DEVLOOP_WAIT_FOR, value: serve.py}
                - {name: DEVLOOP_BUILD, value: \(SupervisedApp.build)}
                - {name: DEVLOOP_RUN, value: \(SupervisedApp.run)}
                - {name: DEVLOOP_READY_COMMAND, value: "curl -fsS -o /dev/null http://127.0.0.1:8080/"}
                - {name: DEVLOOP_BACKOFF_MAX, value: "2"}
                - {name: PORT, value: "8080"}
                readinessProbe:
                  httpGet: {path: /, port: 8080}
                  periodSeconds: 1
                volumeMounts:
                - {name: sources, mountPath: /app}
              volumes:
              - name: sources
                hostPath: {path: \(appFolder), type: DirectoryOrCreate}
        """
    }

    /// The pod's answer on port 8080, asked from inside the pod (exec shares its network namespace).
    static func answer(_ executor: PodExecutor, path: String = "/") async throws -> String? {
        let result = try await executor.run(
            ["curl", "-fsS", "--max-time", "5", "http://127.0.0.1:8080\(path)"], stdin: Data())
        return result.exitCode == 0 ? String(decoding: result.stdout, as: UTF8.self) : nil
    }

    @Test func restartsInTheContainerKeepTheOldServerOnAFailedBuildAndSurviveACrash() async throws {
        try await KubeSimFixture.run { sim in
            let kubectl = KubectlRunner(kubeconfig: sim.server.kubeconfigPath)
            let app = sim.directory.appendingPathComponent("webapp-hostpath")
            let manifestFile = sim.directory.appendingPathComponent("fixture.yaml")
            try Data(Self.manifest(appFolder: app.path).utf8).write(to: manifestFile)
            let applied = try await kubectl.run(["apply", "--server-side", "-f", manifestFile.path])
            #expect(applied.status == 0, "\(applied.stderr)")

            // Synced by hand into the hostPath after the pod started, as devloop's first sync comes: the
            // supervisor first, then (once it says it waits for them) the app's sources.
            let pod = try await kubectl.waitForPodName(namespace: "fixture-dev", selector: "devloop.dev/pod=fixture")
            let devFolder = app.appendingPathComponent("dev")
            try FileManager.default.createDirectory(at: devFolder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                at: repositoryRoot.appendingPathComponent("dev/supervisor.sh"),
                to: devFolder.appendingPathComponent("supervisor.sh"))
            try await waitUntil("the supervisor waits for the sources", timeout: .seconds(30)) {
                try await kubectl.run(["logs", "-n", "fixture-dev", pod]).stdout.contains(
                    "waiting for the synced sources in /app (serve.py)")
            }
            try SupervisedApp.write(to: app, message: "one")
            try await sim.waitForRunningPod("fixture-dev", pod, timeout: .seconds(60))

            let executor = PodExecutor(client: sim.client, namespace: "fixture-dev", pod: pod, container: "app")
            #expect(try await Self.answer(executor) == "one")
            let restarter = InPodRestarter(
                executor: executor,
                policy: RestartPolicy(paths: ["*.txt"], build: SupervisedApp.build, run: SupervisedApp.run),
                remoteRoot: "/app")

            try SupervisedApp.setSource("two", in: app)
            let outcome = try await restarter.restart()
            #expect(outcome.built)
            #expect(outcome.buildOutput.contains("compiled source.txt"))
            #expect(try await Self.answer(executor) == "two")

            try SupervisedApp.setSource("BROKEN", in: app)
            let failed = try await restarter.restart()
            #expect(!failed.built)
            #expect(failed.buildOutput.contains("source.txt:1:1: error: the source is broken"))
            #expect(try await Self.answer(executor) == "two")

            // A crash: the supervisor restarts the server, not kubelet the container.
            _ = try await Self.answer(executor, path: "/crash")
            try await waitUntil("the supervisor restarted the crashed server", timeout: .seconds(30)) {
                try await Self.answer(executor) == "two"
            }
            let logs = try await kubectl.run(["logs", "-n", "fixture-dev", pod])
            #expect(logs.stdout.contains("sources arrived in /app"))
            #expect(logs.stdout.contains("exited with status 3: restarting it in 1s"))
            #expect(logs.stdout.contains("serving two on 8080"))

            let restarts = try await kubectl.run([
                "get", "pod", "-n", "fixture-dev", pod, "-o", "jsonpath={.status.containerStatuses[0].restartCount}",
            ])
            #expect(restarts.stdout == "0")
        }
    }
}

/// The real /usr/bin/kubectl with only KUBECONFIG to help it.
struct KubectlRunner {
    let kubeconfig: String

    func run(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let executor = LocalShellExecutor(shell: ["/bin/sh"], environment: ["KUBECONFIG": kubeconfig])
        let result = try await executor.run(["/usr/bin/kubectl"] + arguments, stdin: Data())
        return (
            result.exitCode, String(decoding: result.stdout, as: UTF8.self),
            String(decoding: result.stderr, as: UTF8.self)
        )
    }

    func waitForPodName(namespace: String, selector: String) async throws -> String {
        var name = ""
        try await waitUntil("a pod \(selector) exists", timeout: .seconds(30)) {
            name = try await run([
                "get", "pods", "-n", namespace, "-l", selector, "-o", "jsonpath={.items[0].metadata.name}",
            ]).stdout
            return !name.isEmpty
        }
        return name
    }
}
