import Foundation

/// The built `kubesim` executable, run as a user runs it.
enum KubeSimBinary {
    /// Next to the test bundle in the build folder (`swift build --build-tests` builds both).
    static func path() throws -> String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("kubesim").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw TestFailure(
            "the kubesim executable is not built next to \(bundle.path): run `swift build --build-tests` first")
    }

    /// Starts `kubesim --dir DIR --port PORT` and waits for its ready line; returns the process and the
    /// kubeconfig path it printed.
    static func start(directory: URL, port: Int = 0) async throws -> (RunningProcess, String) {
        let process = try RunningProcess(
            kubeconfig: nil, arguments: ["--dir", directory.path, "--port", String(port)], stdin: nil,
            executable: try path())
        try await process.waitForOutput(timeout: .seconds(30), "the ready line") { $0.contains("\n") }
        let line = process.stdout.split(separator: "\n").first.map(String.init) ?? ""
        guard line.hasPrefix("kubesim ready: KUBECONFIG=") else {
            throw TestFailure("unexpected first line \(line); stderr: \(process.stderr)")
        }
        return (process, String(line.dropFirst("kubesim ready: KUBECONFIG=".count)))
    }
}

enum FreePort {
    /// A port on 127.0.0.1 nobody listens on right now.
    static func pick() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw TestFailure("cannot bind a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

enum ProcessTable {
    /// Processes whose command line mentions `marker` (read from /proc).
    static func processes(mentioning marker: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(marker)
        }
    }
}

/// A plain HTTP GET on 127.0.0.1 (through a port-forward), with curl.
func httpGet(port: Int, path: String) async throws -> String {
    let process = try RunningProcess(
        kubeconfig: nil, arguments: ["-s", "--max-time", "10", "http://127.0.0.1:\(port)\(path)"], stdin: nil,
        executable: "/usr/bin/curl")
    let status = try await process.wait(timeout: .seconds(15))
    guard status == 0 else { throw TestFailure("curl to \(port)\(path) failed (\(status)): \(process.stderr)") }
    return process.stdout
}

/// Runs `body` against a `kubesim` executable started in a temporary directory, stopped afterwards.
func withKubeSimExecutable(_ name: String, _ body: (Kubectl, URL) async throws -> Void) async throws {
    let directory = temporaryDirectory(name)
    let (process, kubeconfig) = try await KubeSimBinary.start(directory: directory.appendingPathComponent("sim"))
    defer {
        process.stop()
        try? FileManager.default.removeItem(at: directory)
    }
    try await body(Kubectl(kubeconfig: kubeconfig), directory)
}
