import Foundation
import Glibc
import Testing

/// Issue 12: the tree churns while the in-pod server rebuilds and restarts (an edit of `*.conf`
/// starts a two-second build): an edit storm, a `git checkout` of another branch, `rm -rf` of a folder
/// and its recreation. Each must converge by itself, checked by `devloop sync --verify` and by the
/// restarted server serving the last edit, over both transports, `FaultRuns.count` times each.
@Suite(.serialized, FaultRuns.timeLimit) struct ChurnDuringRestartTests {
    static let transports = ["hostPath", "exec"]

    /// Hundreds of edits (rewrites of index.html, files made and deleted) while the restart runs;
    /// the last edit, of server.conf, restarts the server once more.
    @Test(arguments: transports) func anEditStormDuringARestart(transport: String) async throws {
        try await Self.withSession(transport) { project, up in
            var figures = RecoveryFigures("edit storm during a restart (\(transport))")
            for run in 1...FaultRuns.count {
                let mark = try await Self.startRestart(project, up, run: run)
                for edit in 0..<300 {
                    try project.write("index.html", "storm \(run) \(edit)\n")
                    if edit % 3 == 0 { try project.write("storm/\(run)-\(edit).txt", "\(edit)\n") }
                    if edit % 6 == 0, edit >= 3 {
                        try FileManager.default.removeItem(
                            atPath: project.fixture.app + "/storm/\(run)-\(edit - 3).txt")
                    }
                    usleep(2000)
                }
                Self.report(up, since: mark, fault: "edit storm")
                try project.write("server.conf", "storm \(run)\n")
                let recovery = try await project.converge(
                    serving: ["/index.html": "storm \(run) 299\n", "/server.conf": "storm \(run)\n"], since: .now)
                figures.add(recovery)
            }
            print(figures.report())
        }
    }

    /// A real repository in the source tree, two branches 3,000 files apart; `git checkout` of the
    /// other one while the restart runs. The checkout changes server.conf, so it restarts the server too.
    @Test(arguments: transports) func aGitCheckoutDuringARestart(transport: String) async throws {
        try await Self.withSession(transport, prepare: Self.makeRepository) { project, up in
            var figures = RecoveryFigures("git checkout of 3000 changes during a restart (\(transport))")
            for run in 1...FaultRuns.count {
                let branch = run % 2 == 1 ? "feature" : "main"
                let mark = try await Self.startRestart(project, up, run: run)
                try git(["checkout", "-q", branch], in: project.fixture.app)
                let checkedOut = ContinuousClock.now
                Self.report(up, since: mark, fault: "git checkout")
                let recovery = try await project.converge(
                    serving: ["/index.html": "\(branch) branch\n", "/server.conf": "\(branch)\n"], since: checkedOut)
                figures.add(recovery)
            }
            print(figures.report())
        }
    }

    /// `rm -rf` of a folder of 500 files and its recreation with the same names and new contents; a
    /// file replaced by a folder of the same name, then the folder by a file again.
    @Test(arguments: transports) func rmRfAndRecreationDuringARestart(transport: String) async throws {
        let makeTree: (SupervisedProject) throws -> Void = { project in
            try Self.writeTree(project, version: "v0")
            try project.write("tree/x", "file v0\n")
        }
        try await Self.withSession(transport, prepare: makeTree) { project, up in
            var figures = RecoveryFigures("rm -rf and recreation during a restart (\(transport))")
            let tree = project.fixture.app + "/tree"
            for run in 1...FaultRuns.count {
                let mark = try await Self.startRestart(project, up, run: run)
                try FileManager.default.removeItem(atPath: tree)
                try Self.writeTree(project, version: "r\(run)")
                try project.write("tree/x/inner", "folder \(run)\n")
                try await project.waitUntilShipped("tree/x/inner", "folder \(run)\n")
                try FileManager.default.removeItem(atPath: tree + "/x")
                try project.write("tree/x", "file \(run)\n")
                Self.report(up, since: mark, fault: "rm -rf")
                try project.write("server.conf", "rm \(run)\n")
                let recovery = try await project.converge(
                    serving: [
                        "/tree/d3/f7": "r\(run) 3/7\n", "/tree/x": "file \(run)\n", "/server.conf": "rm \(run)\n",
                    ],
                    since: .now)
                figures.add(recovery)
            }
            print(figures.report())
        }
    }

    static func writeTree(_ project: SupervisedProject, version: String) throws {
        for folder in 0..<10 {
            for file in 0..<50 { try project.write("tree/d\(folder)/f\(file)", "\(version) \(folder)/\(file)\n") }
        }
    }

    /// main: index.html, server.conf and src/f0…f1999; feature: all of them changed plus extra/g0…g999.
    static func makeRepository(_ project: SupervisedProject) throws {
        let app = project.fixture.app
        try git(["init", "-q", "-b", "main"], in: app)
        for branch in ["main", "feature"] {
            if branch == "feature" { try git(["checkout", "-q", "-b", "feature"], in: app) }
            try project.write("index.html", "\(branch) branch\n")
            try project.write("server.conf", "\(branch)\n")
            for file in 0..<2000 { try project.write("src/f\(file)", "\(branch) \(file)\n") }
            if branch == "feature" { for file in 0..<1000 { try project.write("extra/g\(file)", "\(file)\n") } }
            try git(["add", "-A", "."], in: app)
            try git(["commit", "-q", "-m", branch], in: app)
        }
        try git(["checkout", "-q", "main"], in: app)
    }

    /// Edits trigger.conf (untracked, so a checkout leaves it) and waits until devloop has shipped it:
    /// the restart is under way. Returns the line mark from which this run's lines count.
    static func startRestart(_ project: SupervisedProject, _ up: DevLoopProcess, run: Int) async throws -> Int {
        let mark = up.lineCount
        try project.write("trigger.conf", "run \(run)\n")
        // The status line of a batch comes after its restart; the pod's copy shows the shipping, which
        // comes before it.
        try await project.waitUntilShipped("trigger.conf", "run \(run)\n")
        return mark
    }

    /// Whether the trigger's restart was still running when the fault was done (it should be: the
    /// build takes 2 s), printed as a figure rather than asserted, as it depends on speed.
    static func report(_ up: DevLoopProcess, since mark: Int, fault: String) {
        let restarted = up.output.split(separator: "\n").dropFirst(mark).contains {
            $0.hasPrefix("trigger.conf") && $0.contains("rebuilt in")
        }
        print("\(fault): \(restarted ? "after" : "during") the restart")
    }

    /// `devloop up` on a supervised project, serving; Ctrl-C must end it with exit 0.
    static func withSession(
        _ transport: String, prepare: (SupervisedProject) throws -> Void = { _ in },
        _ body: (SupervisedProject, DevLoopProcess) async throws -> Void
    ) async throws {
        let project = try SupervisedProject(transport: transport)
        defer { project.fixture.remove() }
        try prepare(project)
        try await UpSession.run(project.fixture) { _, up in try await body(project, up) }
    }
}
