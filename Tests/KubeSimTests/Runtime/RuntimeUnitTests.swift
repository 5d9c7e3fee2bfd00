import Foundation
import Testing

@testable import KubeSim

@Suite("Pod runtime parts")
struct RuntimeUnitTests {
    @Test func bubblewrapRootIsBuiltFromPartsAndVolumesAreBoundAfterIt() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("root-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/usr/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/bin", withDestinationPath: "usr/bin")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let entries = RootEntry.host(["bin", "etc", "lib64", "usr"], root: root + "/")
        #expect(entries == [.symlink("/bin", target: "usr/bin"), .folder("/etc"), .folder("/usr")])

        let command = BubblewrapCommand(
            root: entries, hostname: "web",
            binds: [BindMount(source: "/host/site", destination: "/srv", readOnly: false)],
            workingDirectory: "/srv", program: ["python3", "-m", "http.server"])
        let arguments = command.arguments
        #expect(!arguments.contains("--unshare-net"))
        #expect(arguments.contains("--die-with-parent") && arguments.contains("--unshare-pid"))
        let bind = try #require(arguments.firstIndex(of: "/host/site"))
        let lastRoot = try #require(arguments.lastIndex(of: "/usr"))
        #expect(arguments[bind - 1] == "--bind" && arguments[bind + 1] == "/srv")
        #expect(lastRoot < bind, "volumes are bound on top of the assembled root")
        #expect(!arguments.contains("/"), "never --ro-bind / /")
        #expect(Array(arguments.suffix(4)) == ["--", "python3", "-m", "http.server"])
        var sandbox = command
        sandbox.newNetworkNamespace = true
        #expect(sandbox.arguments.contains("--unshare-net"))
    }

    /// A mount point where the host has nothing (/etc/app) turns /etc into a tmpfs of read-only binds of
    /// the host's entries, so that bubblewrap makes the mount point in the tmpfs.
    @Test func aMountPointInsideAReadOnlyHostFolderIsMadeInATmpfs() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("root-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/etc/ssl", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/etc/hosts"))
        try FileManager.default.createSymbolicLink(atPath: root + "/etc/localtime", withDestinationPath: "/zone")
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(
            BubblewrapCommand.readOnlyFolder("/etc", mountPoints: ["/etc/ssl", "/srv"], root: root) == [
                "--ro-bind", root + "/etc", "/etc",
            ])
        #expect(
            BubblewrapCommand.readOnlyFolder("/etc", mountPoints: ["/etc/app", "/etc/ssl"], root: root) == [
                "--tmpfs", "/etc", "--ro-bind", root + "/etc/hosts", "/etc/hosts", "--symlink", "/zone",
                "/etc/localtime", "--ro-bind", root + "/etc/ssl", "/etc/ssl",
            ])
    }

    @Test func programFollowsKubernetesCommandAndArgs() throws {
        #expect(
            try containerProgram(RuntimeContainer(name: "a", command: ["sh", "-c"], args: ["echo hi"])) == [
                "sh", "-c", "echo hi",
            ])
        #expect(
            try containerProgram(RuntimeContainer(name: "a", args: ["python3", "app.py"])) == ["python3", "app.py"])
        #expect(throws: RuntimeError.self) { try containerProgram(RuntimeContainer(name: "a")) }
    }

    @Test func commandAndArgsExpandEnvReferencesLikeKubelet() throws {
        let env = ["PORT": "5000", "EMPTY": "", "HOST": "localhost"]
        #expect(expandReferences("--port=$(PORT)", in: env) == "--port=5000")
        #expect(expandReferences("$(HOST):$(PORT)", in: env) == "localhost:5000")
        #expect(expandReferences("$(EMPTY)x", in: env) == "x")
        #expect(expandReferences("$(UNDEFINED)", in: env) == "$(UNDEFINED)")
        #expect(expandReferences("$$(PORT)", in: env) == "$(PORT)")
        #expect(expandReferences("$$$(PORT)", in: env) == "$5000")
        #expect(expandReferences("$(PORT", in: env) == "$(PORT")
        #expect(expandReferences("cost: $5 $", in: env) == "cost: $5 $")
        #expect(expandReferences("echo $HOME", in: env) == "echo $HOME", "shell syntax is left to the shell")
        let container = RuntimeContainer(name: "a", command: ["sh", "-c"], args: ["serve --port $(PORT)"], env: env)
        #expect(try containerProgram(container) == ["sh", "-c", "serve --port 5000"])
    }

    @Test func backOffDoublesFromTheBaseUpToTheMaximum() {
        let settings = BubblewrapRuntimeConfiguration(stateDirectory: URL(fileURLWithPath: "/tmp"))
        let delays = (0..<8).map { settings.backOff(beforeRestart: $0) }
        #expect(delays == [0, 10, 20, 40, 80, 160, 300, 300].map { Duration.seconds($0) })
        #expect(
            goDuration(.seconds(10)) == "10s" && goDuration(.seconds(300)) == "5m0s"
                && goDuration(.seconds(80)) == "1m20s")
    }

    @Test func podPhaseFollowsKubelet() {
        let now = Date()
        func container(_ state: RuntimeContainerStatus.State, last: RuntimeContainerStatus.State? = nil)
            -> RuntimeContainerStatus
        {
            RuntimeContainerStatus(
                name: "c", containerID: "", ready: false, started: false, restartCount: 0, state: state, lastState: last
            )
        }
        let creating = container(.waiting(reason: "ContainerCreating", message: nil))
        let running = container(.running(startedAt: now))
        let done = container(
            .terminated(exitCode: 0, signal: nil, reason: "Completed", startedAt: now, finishedAt: now))
        let failed = container(.terminated(exitCode: 1, signal: nil, reason: "Error", startedAt: now, finishedAt: now))
        let backingOff = container(
            .waiting(reason: "CrashLoopBackOff", message: nil),
            last: .terminated(exitCode: 1, signal: nil, reason: "Error", startedAt: now, finishedAt: now))
        #expect(podPhase([creating, running], restartPolicy: "Always") == "Pending")
        #expect(podPhase([running, done], restartPolicy: "Never") == "Running")
        #expect(podPhase([backingOff], restartPolicy: "Always") == "Running")
        #expect(podPhase([done, done], restartPolicy: "Never") == "Succeeded")
        #expect(podPhase([done, failed], restartPolicy: "Never") == "Failed")
        #expect(podPhase([done], restartPolicy: "OnFailure") == "Succeeded")
        #expect(podPhase([done], restartPolicy: "Always") == "Running")
        // Init containers first: Pending until all succeeded; one failed for good fails the pod.
        #expect(podPhase([creating], initContainers: [done, running], restartPolicy: "Always") == "Pending")
        #expect(podPhase([running], initContainers: [done, done], restartPolicy: "Always") == "Running")
        #expect(podPhase([creating], initContainers: [failed], restartPolicy: "Never") == "Failed")
        #expect(podPhase([creating], initContainers: [backingOff], restartPolicy: "OnFailure") == "Pending")
    }

    @Test func logTimestampsHaveNineFractionDigitsAndParseBack() throws {
        let text = LogTimestamp.format(seconds: 1_795_292_100, nanoseconds: 1_234)
        #expect(text == "2026-11-21T20:15:00.000001234Z")
        let date = try #require(LogTimestamp.parse(text))
        #expect(abs(date.timeIntervalSince1970 - 1_795_292_100.000001234) < 1e-6)
        #expect(LogTimestamp.parse("2026-11-21T20:15:00Z") != nil)
        #expect(LogTimestamp.parse("yesterday") == nil)
    }

    @Test func criLogLinesParseWithSpacesInTheText() throws {
        let line = try #require(ContainerLogLine(criLine: Array("2026-11-21T20:15:00.123456789Z stderr F a  b c".utf8)))
        #expect(line.stream == "stderr" && line.text == "a  b c" && line.timestamp == "2026-11-21T20:15:00.123456789Z")
        #expect(ContainerLogLine(criLine: Array("2026-11-21T20:15:00.123456789Z stdout F ".utf8))?.text == "")
        #expect(ContainerLogLine(criLine: Array("garbage".utf8)) == nil)
    }

    @Test func lineSplitterKeepsPartialLinesUntilTheirNewline() {
        var splitter = LineSplitter(limit: 8)
        #expect(splitter.append(ArraySlice("ab\ncd".utf8)) == [Array("ab".utf8)])
        #expect(
            splitter.append(ArraySlice("e\n\nlong-line-x".utf8)) == [Array("cde".utf8), [], Array("long-lin".utf8)])
        #expect(splitter.finish() == Array("e-x".utf8))
        #expect(splitter.finish() == nil)
    }
}
