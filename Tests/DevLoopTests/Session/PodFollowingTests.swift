import DevLoop
import Foundation
import Glibc
import KubeSim
import Testing

/// The session across server crashes and pod replacement, against a kubesim the test runs.
@Suite(.serialized, FaultRuns.timeLimit) struct PodFollowingTests {
    /// exec+tar into an emptyDir: the replacement pod starts empty, so serving the last edit proves
    /// it got the whole current tree, including the edits made while no pod ran. The pod is deleted
    /// `FaultRuns.count` times in one session, edits coming every 50 ms from the deletion until the
    /// new pod serves; recovery is measured from the deletion to the last edit served.
    @Test func aReplacedPodGetsTheWholeCurrentTree() async throws {
        let project = try FixtureProject(extraConfig: "transport: exec", emptyDir: true)
        defer { project.remove() }
        try await UpSession.run(project, stop: SIGTERM) { cluster, up in
            #expect(await httpGet(port: project.port, path: "/index.html")?.body == "hello v1\n")
            var pod = try await up.readyPod()
            var figures = RecoveryFigures("pod deleted and replaced, edits every 50 ms through the gap")
            for run in 1...FaultRuns.count {
                let mark = up.lineCount
                let deleted = ContinuousClock.now
                try await cluster.server.deletePod(namespace: project.namespace, name: pod, gracePeriodSeconds: 0)
                // Edits until the replacement is announced, then five more while it reconciles.
                var edit = 0
                var replaced: String?
                while replaced == nil || edit < 5 {
                    edit += 1
                    try project.write("app/index.html", "run \(run) edit \(edit)\n")
                    if replaced == nil, let line = up.line(from: mark, where: { $0.contains("pod \(pod) replaced by") })
                    {
                        replaced = line
                        edit = 0
                    }
                    try await Task.sleep(for: .milliseconds(50))
                    try #require(ContinuousClock.now - deleted < .seconds(120), "no replacement of \(pod) in 120 s")
                }
                let last = "run \(run) edit \(edit)\n"
                try await waitUntil("the new pod serves the last edit of run \(run)", timeout: .seconds(120)) {
                    await httpGet(port: project.port, path: "/index.html")?.body == last
                }
                figures.add(.now - deleted)
                let words = replaced!.split(separator: " ")
                pod = String(words[words.firstIndex(of: "by")! + 1].dropLast())
            }
            print(figures.report())
        }
    }

    /// 200 sequential requests while the server process is killed, then the pod deleted: none fails.
    @Test func noRequestFailsWhileTheServerCrashesAndThePodIsReplaced() async throws {
        let project = try FixtureProject()
        defer { project.remove() }
        try await UpSession.run(project, stop: SIGTERM) { cluster, up in
            let pod = try await up.readyPod()
            var failures: [String] = []
            for index in 0..<200 {
                if index == 50 {
                    try await cluster.server.killContainer(namespace: project.namespace, pod: pod, container: "app")
                }
                if index == 120 { try await cluster.server.deletePod(namespace: project.namespace, name: pod) }
                let started = ContinuousClock.now
                let answer = await httpGet(port: project.port, path: "/index.html", timeout: 40)
                if answer?.status != 200 || answer?.body != "hello v1\n" {
                    let what = answer.map { "\($0.status) \($0.body.debugDescription)" } ?? "no HTTP answer"
                    failures.append("\(index): \(what) after \(ContinuousClock.now - started)")
                }
            }
            #expect(failures.isEmpty, "failed requests: \(failures); devloop said:\n\(up.output)")
        }
    }
}
