import Foundation
import Testing

@testable import KubeSim

/// A runtime in a temporary folder with a fast restart back-off, and helpers to watch its pods.
struct RuntimeFixture {
    let runtime: BubblewrapPodRuntime
    let folder: URL

    init(backOffBase: Duration = .milliseconds(300), backOffMax: Duration = .seconds(2)) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kubesim-runtime-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        runtime = BubblewrapPodRuntime(
            configuration: BubblewrapRuntimeConfiguration(
                stateDirectory: folder.appendingPathComponent("state"), backOffBase: backOffBase, backOffMax: backOffMax
            ))
    }

    /// A host folder for a hostPath volume, with `files` in it.
    func hostFolder(_ name: String, files: [String: String] = [:]) throws -> String {
        let path = folder.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (file, text) in files { try text.write(toFile: path + "/" + file, atomically: true, encoding: .utf8) }
        return path
    }

    /// Shuts the runtime down and removes the folder; every test ends with it.
    func tearDown() async {
        await runtime.shutdown()
        try? FileManager.default.removeItem(at: folder)
    }

    /// Polls the pod's status until `condition` holds; fails the test with the last status after `timeout`.
    /// The default is a bound against a hang, not a measure: with every kubesim suite side by side on
    /// a shared 2-core machine, each sandboxed `echo` of a pod with two init containers took 3-4 s.
    @discardableResult
    func waitFor(
        _ uid: String, timeout: Duration = .seconds(60), _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation, _ condition: (RuntimePodStatus) -> Bool
    ) async throws -> RuntimePodStatus {
        let deadline = ContinuousClock.now + timeout
        var last: RuntimePodStatus?
        while ContinuousClock.now < deadline {
            last = runtime.status(uid: uid)
            if let last, condition(last) { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record(
            "pod \(uid) never reached: \(what); last status: \(String(describing: last))",
            sourceLocation: sourceLocation)
        throw FixtureError.timedOut(what)
    }
}

enum FixtureError: Error {
    case timedOut(String)
}

/// A pod serving `folder` with python's http.server on `port`, ready through an httpGet readiness probe.
func httpServerPod(uid: String, folder: String, port: Int = 5000, marker: String = "") -> RuntimePod {
    RuntimePod(
        uid: uid, namespace: "test", name: "web-\(uid)",
        containers: [
            RuntimeContainer(
                name: "web", command: ["python3", "-m", "http.server", String(port), "--bind", "127.0.0.1"],
                env: ["KUBESIM_TEST_MARKER": marker], workingDir: "/srv/site",
                volumeMounts: [RuntimeVolumeMount(name: "site", mountPath: "/srv/site")],
                readinessProbe: RuntimeProbe(action: .httpGet(path: "/", port: port), periodSeconds: 0.2))
        ],
        volumes: [RuntimeVolume(name: "site", source: .hostPath(folder))], terminationGracePeriodSeconds: 2)
}

/// `GET path` over a connected socket (which it closes); returns the response body. A reply silent for 30 s ends it: a bound
/// against a hang, not a measure (a first request through kubectl port-forward took 4 s here with
/// every kubesim suite side by side).
func httpGet(_ fd: Int32, path: String) async -> String {
    await onDedicatedThread("test-http") {
        defer { close(fd) }
        var limit = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET \(path) HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            guard count > 0 else { break }
            response += chunk[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        return text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    }
}

/// The pids of processes whose command line or environment contains `marker`.
func processes(containing marker: String) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> pid_t? in
        guard let pid = pid_t(entry), pid != getpid() else { return nil }
        // Zombies (already dead, waiting to be reaped by whoever inherited them) do not count.
        if let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "Z"
        {
            return nil
        }
        for file in ["cmdline", "environ"] {
            if let data = FileManager.default.contents(atPath: "/proc/\(entry)/\(file)"),
                String(decoding: data, as: UTF8.self).contains(marker)
            {
                return pid
            }
        }
        return nil
    }
}

/// Collects a log stream into lines.
func collect(_ stream: AsyncStream<ContainerLogLine>) async -> [ContainerLogLine] {
    var lines: [ContainerLogLine] = []
    for await line in stream { lines.append(line) }
    return lines
}
