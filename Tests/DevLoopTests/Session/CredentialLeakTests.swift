import Foundation
import Glibc
import Testing

/// Issue 12, safety: over a whole session (up with a kubeconfig holding a bearer token and a client
/// key, an edit, `logs`, `status --json`, `down`), every command traced with strace, no file devloop
/// writes and none of its output holds either secret, and devloop writes only its state folder and the
/// sync destination (hostPath: the node's folder is on this machine).
@Suite(.serialized, .timeLimit(.minutes(5))) struct CredentialLeakTests {
    @Test func aWholeSessionWritesNoCredentialAnywhere() async throws {
        let project = try FixtureProject(namespace: "secret-dev")
        defer { project.remove() }
        let cluster = try await KubeSimFixture.start()
        do {
            let kubeconfig = cluster.directory.appendingPathComponent("with-token.yaml").path
            let secrets = try Self.writeKubeconfig(
                from: cluster.server.kubeconfigPath, token: cluster.server.token, to: kubeconfig)
            let traces = TempDir("devloop-strace")
            defer { if ProcessInfo.processInfo.environment["DEVLOOP_KEEP_TRACES"] == nil { traces.remove() } }
            var outputs: [String: String] = [:]
            var traced = 0
            func traceFile() -> String {
                traced += 1
                return traces.path + "/\(traced).trace"
            }
            let up = try DevLoopProcess(
                Self.strace(traceFile()) + ["up", "--config", project.config], directory: project.root,
                kubeconfig: kubeconfig, executable: "/usr/bin/strace")
            try await up.waitForLine("the forward") { $0.contains("forwarding http://127.0.0.1:\(project.port)") }
            try project.write("app/index.html", "hello v2\n")
            try await up.waitForLine("the status line of the edit") { $0.contains("index.html: synced in") }
            #expect(await httpGet(port: project.port, path: "/index.html")?.body == "hello v2\n")
            for command in [
                ["logs", "--no-follow"], ["status", "--json"], ["status"], ["sync", "--verify"], ["down"],
            ] {
                let run = try await DevLoopProcess.run(
                    Self.strace(traceFile()) + command + ["--config", project.config], directory: project.root,
                    kubeconfig: kubeconfig, executable: "/usr/bin/strace")
                #expect(run.status == 0, "\(command): \(run.output)")
                outputs[command.joined(separator: " ")] = run.output
            }
            #expect(await up.exitStatus() == 0, "\(up.output)")
            await up.waitForEnd()
            outputs["up"] = up.output
            #expect(outputs["status --json"]?.contains(#""namespace" : "secret-dev""#) == true)

            var written: Set<String> = []
            for index in 1...traced {
                written.formUnion(try WriteTrace.paths(in: traces.path + "/\(index).trace", cwd: project.root))
            }
            let allowed = [project.root + "/.devloop", project.hostPath, "/dev/null"]
            let outside = written.filter { path in !allowed.contains { path == $0 || path.hasPrefix($0 + "/") } }
            print(
                "credential check: \(traced) traced commands, \(written.count) paths written, outside: \(outside.sorted())"
            )
            #expect(outside.isEmpty, "devloop wrote outside its state folder and the destination: \(outside.sorted())")
            #expect(
                written.contains(project.root + "/.devloop/session.json"), "the trace saw no state write: \(written)")

            // What devloop wrote and printed, and everything now under the project (state, sources,
            // destination), against every form of both secrets.
            var leaks: [String] = []
            for (command, output) in outputs where secrets.contains(where: { output.contains($0) }) {
                leaks.append("the output of `\(command)`")
            }
            let files = written.union(Self.files(under: project.root))
            leaks += Self.leaks(in: files, of: secrets)
            print(
                "credential check: \(files.count) files and \(outputs.count) outputs read for \(secrets.count) secret forms"
            )
            #expect(leaks.isEmpty, "a credential appears in \(leaks)")
            // The check itself finds a key where there is one.
            let probe = project.root + "/.devloop/leak-probe"
            try Data(base64Encoded: secrets[1])?.write(to: URL(fileURLWithPath: probe))
            #expect(Self.leaks(in: [probe], of: secrets) == [probe])
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    /// The trace reader on the lines strace writes: padded pids, descriptors as paths, failed calls,
    /// reads (none of which count).
    @Test func theTraceReaderFindsEveryWrite() throws {
        let trace = TempDir("devloop-trace-reader")
        defer { trace.remove() }
        let lines = [
            #"1356  openat(AT_FDCWD</w>, "/w/.devloop/a", O_RDWR|O_CREAT|O_EXCL, 0666) = 9</w/.devloop/a>"#,
            #"31337 openat(7</w/node>, "b", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0600) = 8</w/node/b>"#,
            #"31337 openat(AT_FDCWD</w>, "rel/c", O_WRONLY) = 3</w/rel/c>"#,
            #"31337 openat(AT_FDCWD</w>, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3</etc/hosts>"#,
            #"31337 openat(AT_FDCWD</w>, "/nope", O_WRONLY|O_CREAT, 0644) = -1 EACCES (Permission denied)"#,
            #"42 renameat2(5</w/x>, "t", 6</w/y>, "d", RENAME_NOREPLACE) = 0"#,
            #"42 rename("/w/.devloop/a", "/w/.devloop/session.json") = 0"#,
            #"42 mkdir("/w/.devloop", 0777) = 0"#,
            #"42 mkdirat(AT_FDCWD</w>, "e", 0755) = 0"#,
        ]
        try lines.joined(separator: "\n").write(toFile: trace.path + "/t", atomically: true, encoding: .utf8)
        let paths = try WriteTrace.paths(in: trace.path + "/t", cwd: "/w")
        #expect(
            paths == [
                "/w/.devloop/a", "/w/node/b", "/w/rel/c", "/w/y/d", "/w/.devloop/session.json", "/w/.devloop", "/w/e",
            ])
    }

    /// strace of every process and thread, with file descriptors shown as paths, for what writes files.
    static func strace(_ output: String) -> [String] {
        [
            "-f", "-qq", "-y", "-s", "4096", "-o", output, "-e",
            "trace=open,openat,openat2,creat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,mkdir,mkdirat,truncate",
            DevLoopProcess.binary,
        ]
    }

    /// kubesim's kubeconfig with a bearer token added to its user (which has a client key already);
    /// returns each form a secret could leak in: the token, the key's base64 field, and each line of
    /// the key's PEM body.
    static func writeKubeconfig(from source: String, token: String, to path: String) throws -> [String] {
        let text = try String(contentsOfFile: source, encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        guard let keyLine = lines.firstIndex(where: { $0.contains("client-key-data:") }) else {
            Issue.record("kubesim's kubeconfig has no client key:\n\(text)")
            throw CancellationError()
        }
        let indent = String(lines[keyLine].prefix { $0 == " " })
        lines.insert(indent + "token: \(token)", at: keyLine + 1)
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let keyData = String(lines[keyLine].split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces)
        let pem = String(decoding: Data(base64Encoded: keyData) ?? Data(), as: UTF8.self)
        let body = pem.components(separatedBy: "\n").filter { $0.count >= 16 && !$0.hasPrefix("-----") }
        #expect(!body.isEmpty && token.count >= 16, "no secret to look for: \(pem)")
        return [token, keyData] + body
    }

    /// The files that hold any of `secrets`.
    static func leaks(in files: some Collection<String>, of secrets: [String]) -> [String] {
        files.filter { path in
            guard let data = FileManager.default.contents(atPath: path) else { return false }
            return secrets.contains { data.range(of: Data($0.utf8)) != nil }
        }.sorted()
    }

    static func files(under root: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var files: [String] = []
        while let relative = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = root + "/" + relative
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(path)
            }
        }
        return files
    }
}

/// The paths an strace log (`-y`) shows being written: files opened for writing or created, rename
/// and link targets, folders made.
enum WriteTrace {
    static func paths(in trace: String, cwd: String) throws -> Set<String> {
        let text = try String(contentsOfFile: trace, encoding: .utf8)
        var paths: Set<String> = []
        for line in text.split(separator: "\n") {
            // `PID  call(…)`: strace pads the pid to five columns.
            let call = line.drop { $0.isNumber }.drop { $0 == " " }
            guard let open = call.firstIndex(of: "(") else { continue }
            let name = call[..<open]
            let arguments = Self.arguments(String(call[call.index(after: open)...]))
            if line.hasSuffix("= -1") || line.contains(") = -1 ") { continue }
            switch name {
            case "open", "creat", "openat", "openat2":
                let flags = arguments.last { $0.contains("O_") } ?? ""
                let writes =
                    name == "creat" || ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"].contains { flags.contains($0) }
                if writes, let path = resolve(arguments, at: name.hasPrefix("openat") ? 1 : 0, cwd: cwd) {
                    paths.insert(path)
                }
            case "rename", "link", "symlink", "mkdir", "truncate":
                if let path = resolve(arguments, at: name == "mkdir" || name == "truncate" ? 0 : 1, cwd: cwd) {
                    paths.insert(path)
                }
            case "renameat", "renameat2", "linkat":
                if let path = resolve(arguments, at: 3, cwd: cwd, directoryAt: 2) { paths.insert(path) }
            case "mkdirat":
                if let path = resolve(arguments, at: 1, cwd: cwd, directoryAt: 0) { paths.insert(path) }
            case "symlinkat":
                if let path = resolve(arguments, at: 2, cwd: cwd, directoryAt: 1) { paths.insert(path) }
            default: continue
            }
        }
        return paths
    }

    /// The quoted path at `index`, made absolute against the `-y` path of the descriptor at
    /// `directoryAt` (or at index - 1 for openat), or the working directory for AT_FDCWD.
    private static func resolve(_ arguments: [String], at index: Int, cwd: String, directoryAt: Int? = nil) -> String? {
        guard index < arguments.count, let path = unquote(arguments[index]) else { return nil }
        if path.hasPrefix("/") { return path }
        let descriptor = directoryAt ?? (index - 1)
        var base = cwd
        if descriptor >= 0, descriptor < arguments.count, let open = arguments[descriptor].firstIndex(of: "<"),
            arguments[descriptor].hasSuffix(">")
        {
            base = String(
                arguments[descriptor][
                    arguments[descriptor].index(
                        after: open)..<arguments[descriptor].index(before: arguments[descriptor].endIndex)])
        }
        return base + "/" + path
    }

    private static func unquote(_ argument: String) -> String? {
        guard argument.hasPrefix("\""), let end = argument.dropFirst().firstIndex(of: "\"") else { return nil }
        return String(argument[argument.index(after: argument.startIndex)..<end])
    }

    /// The top-level, comma-separated arguments of a call (quotes and brackets respected).
    private static func arguments(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        var depth = 0
        var quoted = false
        var escaped = false
        for character in text {
            if quoted {
                current.append(character)
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    quoted = false
                }
                continue
            }
            switch character {
            case "\"": quoted = true; current.append(character)
            case "(", "[", "{": depth += 1; current.append(character)
            case ")", "]", "}":
                if depth == 0 {
                    result.append(current.trimmingCharacters(in: .whitespaces))
                    return result
                }
                depth -= 1
                current.append(character)
            case "," where depth == 0:
                result.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            default: current.append(character)
            }
        }
        result.append(current.trimmingCharacters(in: .whitespaces))
        return result
    }
}
