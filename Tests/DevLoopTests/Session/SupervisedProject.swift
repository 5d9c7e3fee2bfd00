import Foundation
import Testing

/// A fixture project whose pod runs dev/supervisor.sh, with a `restart:` rule for `*.conf`: the build
/// takes two seconds (the window the churn tests act in), and the server serves a copy of the tree
/// taken when it starts, so what it serves shows which restart it came from.
struct SupervisedProject {
    let fixture: FixtureProject
    let transport: String

    static let run = "rm -rf /tmp/www && cp -a /app /tmp/www && exec busybox httpd -f -p 5000 -h /tmp/www"
    static let build = "sleep 2"

    /// `transport`: `hostPath` (the pod mounts this machine's folder) or `exec` (exec+tar into an emptyDir).
    init(transport: String, namespace: String = "churn-dev") throws {
        self.transport = transport
        let script = """
            until [ -f /app/dev/supervisor.sh ]; do sleep 0.2; done
            export DEVLOOP_APP_DIR=/app DEVLOOP_WAIT_FOR=server.conf DEVLOOP_BACKOFF_MAX=2 DEVLOOP_STOP_TIMEOUT=2
            export DEVLOOP_RUN='\(Self.run)' DEVLOOP_BUILD='\(Self.build)'
            export DEVLOOP_READY_COMMAND='busybox wget -q -O /dev/null http://127.0.0.1:5000/index.html'
            exec sh /app/dev/supervisor.sh run
            """
        let restart = #"restart: {paths: ["*.conf"], build: "\#(Self.build)", run: "\#(Self.run)"}"#
        fixture = try FixtureProject(
            namespace: namespace, extraConfig: restart + (transport == "exec" ? "\ntransport: exec" : ""),
            emptyDir: transport == "exec", command: #"["sh", "-c", \#(KubeSimFixture.jsonString(script))]"#)
        _ = fixture.dir.sub("app/dev")
        try FileManager.default.copyItem(
            atPath: repositoryRoot.appendingPathComponent("dev/supervisor.sh").path,
            toPath: fixture.app + "/dev/supervisor.sh")
        try fixture.write("app/server.conf", "initial\n")
    }

    /// Writes `text` at `path` under app/, making its folders.
    func write(_ path: String, _ text: String) throws {
        let full = fixture.app + "/" + path
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: false, encoding: .utf8)
    }

    /// Waits until the pod has `path` with `text`: on hostPath, by reading this machine's folder; over
    /// exec+tar, whose destination only an exec could read, by a pause long enough for a batch.
    func waitUntilShipped(_ path: String, _ text: String) async throws {
        guard transport == "hostPath" else {
            try await Task.sleep(for: .milliseconds(500))
            return
        }
        let copy = fixture.hostPath + "/" + path
        try await waitUntil("\(path) shipped", timeout: .seconds(30)) {
            (try? String(contentsOfFile: copy, encoding: .utf8)) == text
        }
    }

    /// Waits until the forward serves `expected` for every path and `devloop sync --verify` exits 0:
    /// the time that took from `since`.
    func converge(
        serving expected: [String: String], since: ContinuousClock.Instant, timeout: Duration = .seconds(90)
    ) async throws -> Duration {
        let project = fixture
        var verify: (status: Int32?, output: String) = (nil, "")
        var served: [String: String] = [:]
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            served = [:]
            for path in expected.keys {
                served[path] = await httpGet(port: project.port, path: path, timeout: 5)?.body
            }
            if served == expected {
                verify = try await DevLoopProcess.run(
                    ["sync", "--verify", "--config", project.config], directory: project.root)
                if verify.status == 0 { return .now - since }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let status = verify.status.map { "exit \($0)" } ?? "not run"
        let output = String(verify.output.prefix(2000))
        let message = "no convergence within \(timeout): served \(served) instead of \(expected); "
        Issue.record(Comment(rawValue: message + "sync --verify \(status): \(output)"))
        throw CancellationError()
    }
}

/// Runs `git` in `directory`; fails the test on a non-zero exit.
func git(_ arguments: [String], in directory: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
    process.arguments =
        ["-c", "user.name=devloop", "-c", "user.email=devloop@test", "-c", "advice.detachedHead=false"]
        + arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        Issue.record("git \(arguments.joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
        throw CancellationError()
    }
}
