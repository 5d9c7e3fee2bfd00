import DevLoop
import Foundation
import Glibc
import KubeSim
import Testing

/// Issue 10's acceptance, as a user meets it: `devloop logs`, a real browser, `sync --verify` and
/// `status --json`, each run as the built binary against a running session.
@Suite(.serialized, .timeLimit(.minutes(5))) struct DevLoopAcceptanceTests {
    /// A server that says two lines when it starts, so each pod's lines can be told apart and counted.
    static let talkingServer =
        #"["sh", "-c", "echo booted; echo serving /app; exec busybox httpd -f -p 5000 -h /app"]"#

    /// `logs` follows from the first pod into its replacement and `--no-follow` prints what is there:
    /// every line prefixed `pod/container | `, none twice, no colour off a terminal; in a terminal
    /// colour unless NO_COLOR is set.
    @Test func logsFollowAPodReplacementWithPrefixesAndNoLineTwice() async throws {
        let project = try FixtureProject(command: Self.talkingServer)
        defer { project.remove() }
        let cluster = try await KubeSimFixture.start()
        do {
            let kubeconfig = cluster.server.kubeconfigPath
            let up = try DevLoopProcess(
                ["up", "--config", project.config], directory: project.root, kubeconfig: kubeconfig)
            try await up.waitForLine("the forward") { $0.contains("forwarding http://127.0.0.1:\(project.port)") }
            let ready = try await up.waitForLine("the ready pod") { $0.hasSuffix(" is ready") }
            let first = LogRecordFormatter.shortName(pod: String(ready.split(separator: " ")[1]), container: "app")

            let following = try DevLoopProcess(
                ["logs", "--config", project.config], directory: project.root, kubeconfig: kubeconfig,
                environment: ["NO_COLOR": nil])
            try await following.waitForLine("the first pod's last line") { $0 == "\(first) | serving /app" }
            try await cluster.server.deletePod(
                namespace: project.namespace, name: String(ready.split(separator: " ")[1]), gracePeriodSeconds: 0)
            let replaced = try await up.waitForLine("the replacement") { $0.contains(" replaced by ") }
            let second = LogRecordFormatter.shortName(
                pod: String(replaced.split(separator: " ")[4].dropLast()), container: "app")
            try await following.waitForLine("the new pod's last line") { $0 == "\(second) | serving /app" }

            let snapshot = try await DevLoopProcess.run(
                ["logs", "--config", project.config, "--no-follow"], directory: project.root, kubeconfig: kubeconfig,
                environment: ["NO_COLOR": nil])
            #expect(snapshot.status == 0, "\(snapshot.output)")
            #expect(Self.count(snapshot.output, "\(second) | booted") == 1, "\(snapshot.output)")
            #expect(Self.count(snapshot.output, "\(second) | serving /app") == 1, "\(snapshot.output)")
            #expect(!snapshot.output.contains("\u{1B}["), "colour off a terminal")

            following.signal(SIGINT)
            #expect(await following.exitStatus() == 0, "\(following.output)")
            await following.waitForEnd()
            for pod in [first, second] {
                for text in ["booted", "serving /app"] {
                    #expect(Self.count(following.output, "\(pod) | \(text)") == 1, "\(following.output)")
                }
            }
            let lines = following.output.split(separator: "\n")
            #expect(lines.allSatisfy { $0.hasPrefix("\(first) | ") || $0.hasPrefix("\(second) | ") }, "\(lines)")
            #expect(!following.output.contains("\u{1B}["), "colour off a terminal")

            let terminal = try await Self.inTerminal(
                ["logs", "--config", project.config, "--no-follow"], project, kubeconfig)
            #expect(terminal.status == 0, "\(terminal.output)")
            #expect(terminal.output.contains("\u{1B}["), "no colour in a terminal: \(terminal.output)")
            #expect(terminal.output.contains("\(second)\u{1B}[0m | booted"), "\(terminal.output)")
            let plain = try await Self.inTerminal(
                ["logs", "--config", project.config, "--no-follow"], project, kubeconfig, noColour: "1")
            #expect(plain.status == 0, "\(plain.output)")
            #expect(plain.output.contains("\(second) | booted"), "\(plain.output)")
            #expect(!plain.output.contains("\u{1B}["), "colour despite NO_COLOR")
            // https://no-color.org: an empty NO_COLOR does not count.
            let empty = try await Self.inTerminal(
                ["logs", "--config", project.config, "--no-follow"], project, kubeconfig, noColour: "")
            #expect(empty.output.contains("\(second)\u{1B}[0m | booted"), "no colour with NO_COLOR=\"\"")

            up.signal(SIGTERM)
            #expect(await up.exitStatus() == 0, "\(up.output)")
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
        try await waitUntil("no pod process of the session is left", timeout: .seconds(30)) {
            processes(mentioning: project.root).isEmpty
        }
    }

    /// Headless Chromium loads the page through `up --sim`'s forward; after an edit and devloop's status
    /// line, a reload shows the change in the DOM.
    @Test func aBrowserShowsAnEditOnTheReloadAfterTheStatusLine() async throws {
        let project = try FixtureProject(index: Self.page("hello v1"))
        defer { project.remove() }
        let up = try DevLoopProcess(["up", "--config", project.config, "--sim"], directory: project.root)
        try await up.waitForLine("the forward") { $0.contains("forwarding http://127.0.0.1:\(project.port)") }
        let url = "http://127.0.0.1:\(project.port)/index.html"
        // A profile per load, as a hard reload: busybox httpd sends Last-Modified without Cache-Control,
        // so a second load in the same profile may be answered from Chromium's heuristic cache.
        let before = try await Self.chromium(url, profile: project.dir.sub("chromium-1"))
        #expect(before.contains(#"<p id="greeting">hello v1</p>"#), "\(before.suffix(2000))")
        try project.write("app/index.html", Self.page("hello v2"))
        let status = try await up.waitForLine("the status line of the edit") { $0.contains("index.html: synced in") }
        let after = try await Self.chromium(url, profile: project.dir.sub("chromium-2"))
        #expect(after.contains(#"<p id="greeting">hello v2</p>"#), "\(after.suffix(2000))")
        print("devloop's status line for the edit: \(status)")

        up.signal(SIGINT)
        #expect(await up.exitStatus() == 0, "\(up.output)")
        #expect(processes(mentioning: project.root).isEmpty, "left behind: \(processes(mentioning: project.root))")
    }

    /// `sync --verify` exits 0 in line; a file changed and one added in the hostPath folder behind
    /// devloop's back make it exit 1 naming both; `sync` repairs them and `--verify` exits 0 again.
    @Test func syncVerifyFindsADestinationChangedBehindDevloopsBackAndSyncRepairsIt() async throws {
        let project = try FixtureProject()
        defer { project.remove() }
        let up = try DevLoopProcess(["up", "--config", project.config, "--sim"], directory: project.root)
        try await up.waitForLine("the forward") { $0.contains("forwarding http://127.0.0.1:\(project.port)") }
        let verify = ["sync", "--verify", "--config", project.config]

        let clean = try await DevLoopProcess.run(verify, directory: project.root)
        #expect(clean.status == 0, "\(clean.output)")
        #expect(clean.output.contains("no differences"), "\(clean.output)")

        try "tampered\n".write(toFile: project.hostPath + "/index.html", atomically: true, encoding: .utf8)
        try "stray\n".write(toFile: project.hostPath + "/stray.txt", atomically: true, encoding: .utf8)
        let dirty = try await DevLoopProcess.run(verify, directory: project.root)
        #expect(dirty.status == 1, "\(dirty.output)")
        #expect(dirty.output.contains("index.html"), "\(dirty.output)")
        #expect(dirty.output.contains("stray.txt"), "\(dirty.output)")
        #expect(dirty.output.contains("2 differences"), "\(dirty.output)")

        let repair = try await DevLoopProcess.run(["sync", "--config", project.config], directory: project.root)
        #expect(repair.status == 0, "\(repair.output)")
        let again = try await DevLoopProcess.run(verify, directory: project.root)
        #expect(again.status == 0, "\(again.output)")
        #expect(try String(contentsOfFile: project.hostPath + "/index.html", encoding: .utf8) == "hello v1\n")
        #expect(!FileManager.default.fileExists(atPath: project.hostPath + "/stray.txt"))
        #expect(await httpGet(port: project.port, path: "/index.html")?.body == "hello v1\n")

        up.signal(SIGINT)
        #expect(await up.exitStatus() == 0, "\(up.output)")
        #expect(processes(mentioning: project.root).isEmpty, "left behind: \(processes(mentioning: project.root))")
    }

    /// `status --json` while running has the fields the README documents, and neither it nor
    /// `.devloop/session.json` holds the kubeconfig's token, key or certificate material.
    @Test func statusJSONHasTheDocumentedFieldsAndNoCredentials() async throws {
        let project = try FixtureProject()
        defer { project.remove() }
        let up = try DevLoopProcess(["up", "--config", project.config, "--sim"], directory: project.root)
        try await up.waitForLine("the forward") { $0.contains("forwarding http://127.0.0.1:\(project.port)") }
        try project.write("app/index.html", "hello v2\n")
        try await up.waitForLine("the status line of the edit") { $0.contains("index.html: synced in") }

        let status = try await DevLoopProcess.run(
            ["status", "--config", project.config, "--json"], directory: project.root)
        #expect(status.status == 0, "\(status.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any])
        for key in [
            "running", "pid", "startedAt", "config", "cluster", "namespace", "pod", "phase", "transport", "forwards",
            "lastSync",
        ] {
            #expect(json[key] != nil, "no \(key) in \(status.output)")
        }
        #expect(json["pid"] as? Int == Int(up.process.processIdentifier))
        #expect(json["phase"] as? String == "serving")
        let cluster = try #require(json["cluster"] as? [String: Any])
        #expect(cluster["kind"] as? String == "embedded")
        for key in ["kubeconfig", "context", "server"] { #expect(cluster[key] is String, "cluster.\(key)") }
        let pod = try #require(json["pod"] as? [String: Any])
        for key in ["name", "uid"] { #expect(pod[key] is String, "pod.\(key)") }
        #expect(pod["ready"] as? Bool == true)
        let forward = try #require((json["forwards"] as? [[String: Any]])?.first)
        #expect(forward["address"] as? String == "127.0.0.1")
        #expect(forward["localPort"] as? Int == Int(project.port))
        #expect(forward["remotePort"] != nil)
        let sync = try #require(json["lastSync"] as? [String: Any])
        for key in ["at", "files", "bytes", "milliseconds"] { #expect(sync[key] != nil, "lastSync.\(key)") }
        // The fixture has no restart paths, so lastRestart appears only in its documented shape if at all.
        if let restart = json["lastRestart"] as? [String: Any] {
            for key in ["at", "built", "buildMilliseconds", "restartMilliseconds"] {
                #expect(restart[key] != nil, "lastRestart.\(key)")
            }
        }

        let kubeconfig = try String(contentsOfFile: try #require(cluster["kubeconfig"] as? String), encoding: .utf8)
        let secrets = Self.secretValues(in: kubeconfig)
        #expect(!secrets.isEmpty, "the kubeconfig has no token to look for:\n\(kubeconfig)")
        let stored = try String(contentsOfFile: project.root + "/.devloop/session.json", encoding: .utf8)
        for (name, text) in [("status --json", status.output), ("session.json", stored)] {
            #expect(!text.contains("BEGIN"), "\(name) holds PEM material")
            for secret in secrets { #expect(!text.contains(secret), "\(name) holds a credential from the kubeconfig") }
        }

        up.signal(SIGINT)
        #expect(await up.exitStatus() == 0, "\(up.output)")
        #expect(processes(mentioning: project.root).isEmpty, "left behind: \(processes(mentioning: project.root))")
    }

    static func count(_ output: String, _ line: String) -> Int {
        output.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespacesAndNewlines) == line }.count
    }

    static func page(_ greeting: String) -> String {
        "<!doctype html>\n<html><head><title>fixture</title></head><body><p id=\"greeting\">\(greeting)</p></body></html>\n"
    }

    /// The values of token and key/certificate fields of a kubeconfig (long enough to be meaningful).
    static func secretValues(in kubeconfig: String) -> [String] {
        let fields = ["token", "client-key-data", "client-certificate-data", "certificate-authority-data"]
        return kubeconfig.split(separator: "\n").compactMap { line -> String? in
            let parts = line.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1)
            guard parts.count == 2, fields.contains(String(parts[0])) else { return nil }
            let value = parts[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(
                in: CharacterSet(charactersIn: "\"'"))
            return value.count >= 8 ? value : nil
        }
    }

    /// devloop on a pseudo-terminal (util-linux `script`), so that it sees a terminal on stdout.
    static func inTerminal(
        _ arguments: [String], _ project: FixtureProject, _ kubeconfig: String, noColour: String? = nil
    ) async throws -> (status: Int32?, output: String) {
        let command = ([DevLoopProcess.binary] + arguments).joined(separator: " ")
        return try await DevLoopProcess.run(
            ["-qec", command, "/dev/null"], directory: project.root, kubeconfig: kubeconfig,
            environment: ["NO_COLOR": noColour], executable: "/usr/bin/script")
    }

    /// One headless Chromium run that dumps the DOM of `url`; nothing beyond loopback is reached.
    static func chromium(_ url: String, profile: String) async throws -> String {
        let flags = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-proxy-server", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions", "--no-first-run",
            "--disable-dev-shm-usage", "--user-data-dir=\(profile)",
        ]
        let browser = try await DevLoopProcess.run(
            flags + ["--dump-dom", url], directory: profile, executable: "/usr/bin/chromium", timeout: .seconds(120))
        guard browser.status == 0 else {
            Issue.record("chromium exited with \(String(describing: browser.status)):\n\(browser.output.suffix(2000))")
            throw CancellationError()
        }
        return browser.output
    }
}
