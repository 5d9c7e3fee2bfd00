import Foundation
import Glibc
import Testing

/// A copy of the shipped web app as a developer has it: what SwiftPM needs of the repository, with
/// dev/devloop.yaml and dev/k8s as shipped except for the folders that are this machine's: the hostPath
/// folders (sources and data in a temporary folder, the build folder the in-pod build cache that
/// WebAppInPodTests shares) and the local port of the forward (8080 may be taken on a shared machine).
struct ShippedWebAppProject {
    let dir: TempDir
    let port: UInt16
    let buildCache: URL

    var root: String { dir.path + "/project" }
    var config: String { root + "/dev/devloop.yaml" }
    var sourcesHostPath: String { dir.path + "/node/app" }

    init() throws {
        dir = TempDir("devloop-webapp-up")
        port = freePort()
        buildCache = FileManager.default.temporaryDirectory.appendingPathComponent("devloop-webapp-inpod-build")
        try FileManager.default.createDirectory(at: buildCache, withIntermediateDirectories: true)
        let project = URL(fileURLWithPath: dir.sub("project"))
        try WebAppInPodTests.copySources(to: project)
        let sources = "/var/lib/devloop/webapp/app"
        try Self.rewrite(
            root + "/dev/k8s/webapp-dev.yaml",
            [
                sources: sourcesHostPath, "/var/lib/devloop/webapp/build": buildCache.path,
                "/var/lib/devloop/webapp/data": dir.path + "/node/data",
            ])
        try Self.rewrite(config, [sources: sourcesHostPath, "local: 8080": "local: \(port)"])
    }

    /// Replaces each shipped text, which must occur in `file`; fails when a folder of this machine is
    /// left over, so a folder moved in the shipped files cannot quietly point the test at /var/lib.
    static func rewrite(_ file: String, _ replacements: [String: String]) throws {
        var text = try String(contentsOfFile: file, encoding: .utf8)
        for (shipped, replacement) in replacements {
            #expect(text.contains(shipped), "\(file) no longer contains \(shipped)")
            text = text.replacingOccurrences(of: shipped, with: replacement)
        }
        #expect(!text.contains("/var/lib/devloop"), "\(file) still names a folder of this machine:\n\(text)")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
    }

    func edit(_ path: String, replacing old: String, with new: String) throws {
        try WebAppInPodTests.edit(URL(fileURLWithPath: root + "/" + path), replacing: old, with: new)
    }

    func remove() { dir.remove() }
}

extension WebAppInPodTests {
    /// Issue 10's first acceptance line, as a user meets it: the built `devloop up --sim` on a copy of the
    /// shipped web app runs the shipped dev deployment and supervisor, which build the app in the pod.
    /// Nested here so that it shares the suite's serialisation (one build at a time in the shared build
    /// cache), its time limit and its test group.
    @Suite struct DevLoopUp {
        static let index = "Sources/WebAppCore/Templates/index.mustache"
        static let title = "<title>WebApp · to-do lists</title>"

        /// The page on the forward; a template edit reloads with no restart; a Swift edit rebuilds and
        /// restarts in the pod; a broken one leaves the old server serving and prints swiftc's error;
        /// the fix recovers; the same container's restartCount is 0 throughout; Ctrl-C exits 0 with no
        /// process left.
        @Test func upServesTheShippedWebAppThroughEditsABrokenBuildAndItsFix() async throws {
            let project = try ShippedWebAppProject()
            defer { project.remove() }
            let up = try DevLoopProcess(["up", "--config", project.config, "--sim"], directory: project.root)
            do {
                try await Self.drive(up, project)
            } catch {
                up.signal(SIGINT)
                _ = await up.exitStatus()
                throw error
            }
            up.signal(SIGINT)
            #expect(await up.exitStatus() == 0, "\(up.output)")
            #expect(processes(mentioning: project.dir.path).isEmpty, "left: \(processes(mentioning: project.dir.path))")
            #expect(await httpGet(port: project.port) == nil, "the forward still answers after Ctrl-C")
        }

        static func drive(_ up: DevLoopProcess, _ project: ShippedWebAppProject) async throws {
            let started = ContinuousClock.now
            // A cold build cache compiles every dependency in the pod first.
            try await up.waitForLine("the forward, once the app is built and ready", timeout: .seconds(2700)) {
                $0.contains("forwarding http://127.0.0.1:\(project.port) -> pod port 5000")
            }
            print("devloop up on the shipped web app: serving after \(ContinuousClock.now - started)")
            // auto picks hostPath: the pod sees this machine's sources folder.
            let transport = up.output.split(separator: "\n").first { $0.hasPrefix("sync ") } ?? ""
            #expect(transport.contains(" via hostPath "), "\(transport)")
            let page = await httpGet(port: project.port)
            #expect(page?.status == 200)
            #expect(page?.body.contains(title) == true, "\(page?.body ?? "no answer")")
            let pod = try await Self.podAndKubectl(project)
            #expect(try await Self.restartCount(pod) == "0")

            var mark = up.lineCount
            try project.edit(index, replacing: title, with: "<title>Edited through devloop up</title>")
            let reloaded = try await up.waitForLine("the template edit's status line", from: mark) {
                $0.contains("index.mustache: synced in")
            }
            #expect(reloaded.contains(", reloaded"), "\(reloaded)")
            #expect(
                await httpGet(port: project.port)?.body.contains("<title>Edited through devloop up</title>") == true)

            mark = up.lineCount
            try project.edit(
                WebAppInPodTests.healthSource, replacing: #"["status": "ok"]"#, with: #"["status": "edited"]"#)
            let rebuilt = try await Self.swiftEditLine(up, from: mark)
            print("devloop up on the shipped web app: \(rebuilt)")
            #expect(rebuilt.contains(", rebuilt in "), "\(up.output)")
            #expect(await httpGet(port: project.port, path: "/health")?.body.contains("edited") == true)

            mark = up.lineCount
            try project.edit(
                WebAppInPodTests.healthSource, replacing: #"["status": "edited"]"#, with: #"["status": missingName]"#)
            let failed = try await Self.swiftEditLine(up, from: mark)
            #expect(failed.contains(", build failed (old server kept)"), "\(up.output)")
            let errors = up.output.split(separator: "\n").dropFirst(mark)
            #expect(errors.contains { $0.hasSuffix("build failed; the old server keeps serving:") }, "\(up.output)")
            #expect(
                errors.contains {
                    $0.contains("HealthRoutes.swift:") && $0.contains("error: cannot find 'missingName' in scope")
                }, "no swiftc error naming the file in:\n\(up.output)")
            #expect(await httpGet(port: project.port, path: "/health")?.body.contains("edited") == true)

            mark = up.lineCount
            try project.edit(
                WebAppInPodTests.healthSource, replacing: #"["status": missingName]"#, with: #"["status": "fixed"]"#)
            let fixed = try await Self.swiftEditLine(up, from: mark)
            #expect(fixed.contains(", rebuilt in "), "\(up.output)")
            #expect(await httpGet(port: project.port, path: "/health")?.body.contains("fixed") == true)
            #expect(
                await httpGet(port: project.port)?.body.contains("<title>Edited through devloop up</title>") == true)

            // The same container throughout: the pod was not replaced and its container never restarted.
            #expect(try await Self.podAndKubectl(project).name == pod.name)
            #expect(try await Self.restartCount(pod) == "0")
        }

        /// The status line of a batch that touched HealthRoutes.swift, printed after line `from`.
        static func swiftEditLine(_ up: DevLoopProcess, from mark: Int) async throws -> String {
            try await up.waitForLine("the Swift edit's status line", timeout: .seconds(600), from: mark) {
                $0.contains("HealthRoutes.swift: synced in")
            }
        }

        /// The dev pod and a kubectl on the session's cluster, from `devloop status --json`.
        static func podAndKubectl(_ project: ShippedWebAppProject) async throws -> (
            name: String, kubectl: KubectlRunner
        ) {
            let status = try await DevLoopProcess.run(
                ["status", "--config", project.config, "--json"], directory: project.root)
            #expect(status.status == 0, "\(status.output)")
            let json = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any]
            let kubeconfig = (json?["cluster"] as? [String: Any])?["kubeconfig"] as? String
            let pod = (json?["pod"] as? [String: Any])?["name"] as? String
            guard let kubeconfig, let pod else {
                Issue.record("devloop status --json names no kubeconfig or pod: \(status.output)")
                throw CancellationError()
            }
            return (pod, KubectlRunner(kubeconfig: kubeconfig))
        }

        static func restartCount(_ pod: (name: String, kubectl: KubectlRunner)) async throws -> String {
            let result = try await pod.kubectl.run([
                "get", "pod", "-n", "webapp-dev", pod.name, "-o",
                "jsonpath={.status.containerStatuses[?(@.name==\"webapp\")].restartCount}",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout
        }
    }
}
