import DevLoop
import Foundation
import Testing

/// Issue 10's corpus acceptance as a user meets it: the built `devloop up --config FILE` for every
/// case of Fixtures/BadConfigs, against one kubesim, exits 2 with `FILE:LINE:COLUMN: field: …` naming
/// the file and field of expected.tsv, without a stack trace, and leaves every object of the cluster
/// as it was (same uid, same resourceVersion).
@Suite(.serialized, .timeLimit(.minutes(5))) struct BadInputCLITests {
    /// The namespace the `cluster-*` cases name, made here without the dev label (with an object inside).
    static let unlabelled = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: someones-team
          labels: {team: a}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: their-settings
          namespace: someones-team
        data: {mode: production}
        """

    /// One corpus case as the CLI gets it: the config to pass and the file the error must name.
    struct Run: Sendable {
        var entry: BadConfigCorpusTests.Case
        var config: String
        var named: String
    }

    @Test func everyCorpusCaseExitsTwoNamingFileAndFieldAndTheClusterIsUnchanged() async throws {
        let work = TempDir("devloop-corpus")
        defer { work.remove() }
        let corpus = work.path + "/BadConfigs"
        try FileManager.default.copyItem(atPath: BadConfigCorpus.folder, toPath: corpus)
        let runs =
            try (BadConfigCorpus.cases() + Self.hugeFiles(in: corpus)).map {
                try Self.prepare($0, corpus: corpus, work: work)
            }
        #expect(runs.count >= 50)

        try await KubeSimFixture.run { cluster in
            try await cluster.apply(Self.unlabelled)
            let before = try await ClusterSnapshot.take(cluster.client)
            #expect(before.objects.keys.contains("api/v1/configmaps someones-team/their-settings"), "\(before.objects)")
            let kubeconfig = cluster.server.kubeconfigPath
            let started = ContinuousClock.now

            let offline = runs.filter { !$0.entry.needsCluster }
            let results = try await Self.runAll(offline, directory: work.path, kubeconfig: kubeconfig)
            for (run, result) in zip(offline, results) {
                Self.check(run, result)
                // Refused while loading: nothing reached the cluster, not even the line naming it.
                #expect(result.stdout.isEmpty, "\(run.entry.file): \(result.stdout)")
            }
            #expect(
                !FileManager.default.fileExists(atPath: corpus + "/.devloop"), "a session started for a broken config")

            // One at a time: each may create webapp-dev, is refused, and deletes it again.
            let online = runs.filter(\.entry.needsCluster)
            #expect(online.count >= 5)
            for run in online {
                let result = try await CommandRun.run(
                    ["up", "--config", run.config], directory: work.path, environment: ["KUBECONFIG": kubeconfig])
                Self.check(run, result)
                try await waitUntil("webapp-dev is gone after \(run.entry.file)", timeout: .seconds(30)) {
                    (try? await cluster.client.get("/api/v1/namespaces/webapp-dev")) == nil
                }
            }
            print("devloop up for \(runs.count) corpus cases took \(ContinuousClock.now - started)")

            let after = try await ClusterSnapshot.take(cluster.client)
            #expect(after == before, "the cluster changed:\n\(after.difference(from: before))")
        }
    }

    /// Files over the 1 MiB limit, written for the run (not kept in the repository).
    static func hugeFiles(in corpus: String) throws -> [BadConfigCorpusTests.Case] {
        let filler = String(
            repeating: "# padding padding padding padding padding padding padding padding\n", count: 16_500)
        return try ["config-huge.yaml", "manifest-huge.yaml"].map { name in
            try ("namespace: webapp-dev\n" + filler).write(
                toFile: corpus + "/" + name, atomically: true, encoding: .utf8)
            return BadConfigCorpusTests.Case(
                file: name, field: "(file)", fragment: "is larger than 1024 KiB", line: 1, column: 1)
        }
    }

    /// A config case runs as it is; a manifest case gets a config of its own that names it.
    static func prepare(_ entry: BadConfigCorpusTests.Case, corpus: String, work: TempDir) throws -> Run {
        let file = corpus + "/" + entry.file
        guard entry.isManifest else { return Run(entry: entry, config: file, named: file) }
        let config = work.sub("manifest-configs") + "/" + entry.file
        try """
        namespace: \(BadConfigCorpusTests.namespace)
        manifests: [\(file)]
        pod: {selector: {app: web}}
        sync: [{from: ., to: /app}]
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return Run(entry: entry, config: config, named: file)
    }

    /// Four at a time, results in the order of `runs`.
    static func runAll(_ runs: [Run], directory: String, kubeconfig: String) async throws -> [CommandRun] {
        var results: [CommandRun] = []
        for start in stride(from: 0, to: runs.count, by: 4) {
            let chunk = Array(runs[start..<min(start + 4, runs.count)])
            results += try await withThrowingTaskGroup(of: (Int, CommandRun).self) { group in
                for (index, run) in chunk.enumerated() {
                    group.addTask {
                        let result = try await CommandRun.run(
                            ["up", "--config", run.config], directory: directory,
                            environment: ["KUBECONFIG": kubeconfig])
                        return (index, result)
                    }
                }
                var done: [(Int, CommandRun)] = []
                for try await result in group { done.append(result) }
                return done.sorted { $0.0 < $1.0 }.map(\.1)
            }
        }
        return results
    }

    static func check(_ run: Run, _ result: CommandRun) {
        let entry = run.entry
        #expect(result.status == 2 && !result.signalled, "\(entry.file): exit \(String(describing: result.status))")
        #expect(result.stackTrace == nil, "\(entry.file): \(result.combined)")
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 1, "\(entry.file): \(result.stderr)")
        let expected = "devloop: \(run.named):\(entry.line):\(entry.column): \(entry.field): "
        #expect(result.stderr.hasPrefix(expected), "\(entry.file): expected \(expected)…, got \(result.stderr)")
        #expect(result.stderr.contains(entry.fragment), "\(entry.file): \(result.stderr)")
    }
}
