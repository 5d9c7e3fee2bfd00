import DevLoop
import Foundation
import KubeSim
import Testing

extension Tag {
    /// Builds the web app with the Swift toolchain inside a kubesim pod: minutes on a cold build folder.
    @Tag static var inPodSwiftBuild: Self
}

/// The shipped web app's dev deployment (dev/k8s) on kubesim: a private copy of the sources in the
/// sources hostPath, the app built and run by dev/supervisor.sh inside the pod (the host's /opt/swift
/// toolchain and /opt/swift-packages mirror; the pod has no network), then a template edit (reloads, no
/// restart), a Swift edit (rebuilt and restarted in the pod), a broken Swift edit (the old server keeps
/// serving, the compiler's errors come back) and its fix, with the container's restartCount 0 throughout.
///
/// The build folder is kept between runs (`devloop-webapp-inpod-build` in the temporary folder): the
/// in-pod paths are always /app and /app/.build, so a later run rebuilds only the app's own modules.
@Suite(.tags(.inPodSwiftBuild), .timeLimit(.minutes(60)), .serialized) struct WebAppInPodTests {
    static let build = "swift build --product WebApp --scratch-path /app/.build"
    static let run = "exec /app/.build/debug/WebApp"
    static let healthSource = "Sources/WebAppCore/Web/HealthRoutes.swift"

    /// Copies what SwiftPM needs of the repository (every target's folder, the pins, dev/) into `folder`
    /// (bound into the pod: never replaced), Package.swift last since the supervisor waits for it.
    static func copySources(to folder: URL) throws {
        let manager = FileManager.default
        for item in ["dev", "Sources", "Tests", "Package.resolved", "Package.swift"] {
            let source = repositoryRoot.appendingPathComponent(item)
            guard manager.fileExists(atPath: source.path) else { continue }
            try manager.copyItem(at: source, to: folder.appendingPathComponent(item))
        }
    }

    /// dev/k8s with its hostPaths moved under `root`.
    static func manifests(root: URL) throws -> String {
        let folder = repositoryRoot.appendingPathComponent("dev/k8s")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }
            .sorted()
        return try files.map { try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8) }
            .joined(separator: "\n---\n")
            .replacingOccurrences(of: "/var/lib/devloop/webapp/", with: root.path + "/")
    }

    static func edit(_ file: URL, replacing old: String, with new: String) throws {
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.contains(old), "\(file.lastPathComponent) no longer contains \(old)")
        try Data(text.replacingOccurrences(of: old, with: new).utf8).write(to: file)
    }

    static func get(_ executor: PodExecutor, _ path: String) async throws -> String? {
        let result = try await executor.run(
            ["curl", "-fsS", "--max-time", "10", "http://127.0.0.1:5000\(path)"], stdin: Data())
        return result.exitCode == 0 ? String(decoding: result.stdout, as: UTF8.self) : nil
    }

    @Test func theManifestRunsWhatTheRestarterRuns() throws {
        let manifest = try Self.manifests(root: URL(fileURLWithPath: "/x"))
        #expect(manifest.contains("value: \(Self.build)"))
        #expect(manifest.contains("value: \(Self.run)"))
    }

    @Test func buildsServesReloadsRebuildsAndSurvivesABrokenBuildInThePod() async throws {
        try await KubeSimFixture.run { sim in
            let kubectl = KubectlRunner(kubeconfig: sim.server.kubeconfigPath)
            let root = sim.directory.appendingPathComponent("node")
            let app = root.appendingPathComponent("app")
            let persistentBuild = FileManager.default.temporaryDirectory.appendingPathComponent(
                "devloop-webapp-inpod-build")
            try FileManager.default.createDirectory(at: persistentBuild, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                at: root.appendingPathComponent("build"), withDestinationURL: persistentBuild)
            let manifestFile = sim.directory.appendingPathComponent("webapp-dev.yaml")
            try Data(Self.manifests(root: root).utf8).write(to: manifestFile)
            let applied = try await kubectl.run(["apply", "--server-side", "-f", manifestFile.path])
            #expect(applied.status == 0, "\(applied.stderr)")
            let pod = try await kubectl.waitForPodName(namespace: "webapp-dev", selector: "devloop.dev/pod=webapp")

            // The first sync, by hand, once the pod runs and waits for it.
            try await waitUntil("the pod waits for its sources", timeout: .seconds(60)) {
                try await kubectl.run(["logs", "-n", "webapp-dev", pod]).stdout.contains(
                    "waiting for the synced sources")
            }
            try Self.copySources(to: app)
            let started = ContinuousClock.now
            try await sim.waitForRunningPod("webapp-dev", pod, timeout: .seconds(3000))
            print("web app in a kubesim pod: first build and start took \(ContinuousClock.now - started)")

            let executor = PodExecutor(client: sim.client, namespace: "webapp-dev", pod: pod, container: "webapp")
            let page = try await Self.get(executor, "/")
            #expect(page?.contains("<title>WebApp · to-do lists</title>") == true)

            // A template edit shows on the next request, with no restart.
            try Self.edit(
                app.appendingPathComponent("Sources/WebAppCore/Templates/index.mustache"),
                replacing: "<title>WebApp · to-do lists</title>", with: "<title>Edited in the pod</title>")
            #expect(try await Self.get(executor, "/")?.contains("<title>Edited in the pod</title>") == true)

            let restarter = InPodRestarter(
                executor: executor, policy: RestartPolicy(paths: ["*.swift"], build: Self.build, run: Self.run),
                remoteRoot: "/app")
            let health = app.appendingPathComponent(Self.healthSource)

            try Self.edit(health, replacing: #"["status": "ok"]"#, with: #"["status": "edited"]"#)
            let rebuilt = try await restarter.restart()
            print(
                "web app in a kubesim pod: incremental rebuild \(rebuilt.buildDuration), restart \(rebuilt.restartDuration)"
            )
            #expect(rebuilt.built, "\(rebuilt.buildOutput)")
            #expect(try await Self.get(executor, "/health")?.contains("edited") == true)

            try Self.edit(health, replacing: #"["status": "edited"]"#, with: #"["status": missingName]"#)
            let broken = try await restarter.restart()
            #expect(!broken.built)
            #expect(broken.buildOutput.contains("HealthRoutes.swift"))
            #expect(broken.buildOutput.contains("error:"))
            #expect(broken.buildOutput.contains("missingName"))
            #expect(try await Self.get(executor, "/health")?.contains("edited") == true)

            try Self.edit(health, replacing: #"["status": missingName]"#, with: #"["status": "fixed"]"#)
            let fixed = try await restarter.restart()
            #expect(fixed.built, "\(fixed.buildOutput)")
            #expect(try await Self.get(executor, "/health")?.contains("fixed") == true)
            // The template edit survived the restarts: templates are read from the synced sources.
            #expect(try await Self.get(executor, "/")?.contains("<title>Edited in the pod</title>") == true)

            let restarts = try await kubectl.run([
                "get", "pod", "-n", "webapp-dev", pod, "-o", "jsonpath={.status.containerStatuses[0].restartCount}",
            ])
            #expect(restarts.stdout == "0")
        }
    }
}
