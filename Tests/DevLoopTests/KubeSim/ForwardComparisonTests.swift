import DevLoop
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// devloop's forward against `kubectl port-forward` to the same kubesim pod, interleaved A B A B so a
/// noisy machine moves both alike. Prints figures; asserts only that every request was answered.
/// Run with DEVLOOP_FORWARD_BENCH=1 (a minute of work the test command does not need each time).
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ForwardComparisonTests {
    static let server = """
        import http.server
        big = b"x" * (50 << 20)
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                body = big if self.path == "/big" else b"ok"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        http.server.ThreadingHTTPServer(("", 8080), H).serve_forever()
        """

    @Test(.enabled(if: ProcessInfo.processInfo.environment["DEVLOOP_FORWARD_BENCH"] == "1"))
    func devloopForwardBesideKubectlPortForward() async throws {
        try await KubeSimFixture.run { sim in
            try await sim.apply(
                KubeSimFixture.podManifest(
                    namespace: "bench", name: "web",
                    command: "exec python3 -c '\(Self.server)'"))
            try await sim.waitForRunningPod("bench", "web")
            let pod = try await sim.client.get("/api/v1/namespaces/bench/pods/web")
            let target = PodTarget(namespace: "bench", name: "web", uid: pod[path: "metadata", "uid"]?.string ?? "")
            let forward = PortForwardSession(
                client: sim.client, target: FixedPodTarget(target),
                spec: ForwardSpec(localPort: 0, remotePort: .number(8080), waitTimeout: .seconds(30)))
            let devloop = try await forward.start()
            let kubectl = try KubectlPortForward(kubeconfig: sim.server.kubeconfigPath, namespace: "bench", pod: "web")
            defer { kubectl.stop() }
            let kubectlPort = try await kubectl.port()
            // Warm both: the first request waits for the server and opens the upgraded connections.
            for port in [devloop, kubectlPort] { _ = try await Probe.run { try Probe.fresh(port: port) } }
            var figures: [String] = []
            let sides = [("devloop", devloop), ("kubectl", kubectlPort)]
            var fresh: [String: [Double]] = [:]
            var keepAlive: [String: [Double]] = [:]
            for _ in 0..<300 {
                for (name, port) in sides {
                    fresh[name, default: []].append(try await Probe.run { try Probe.fresh(port: port) })
                }
            }
            let connections = try await Probe.run { sides.map { try? Probe.KeepAlive(port: $0.1) } }
            for _ in 0..<300 {
                for (index, (name, _)) in sides.enumerated() {
                    guard let connection = connections[index] else { throw ProbeError("keep-alive connect failed") }
                    keepAlive[name, default: []].append(try await Probe.run { try connection.request() })
                }
            }
            connections.forEach { $0?.close() }
            var throughput: [String: [Double]] = [:]
            var concurrent: [String: [Double]] = [:]
            for _ in 0..<3 {
                for (name, port) in sides {
                    throughput[name, default: []].append(try await Probe.run { try Probe.download(port: port) })
                    concurrent[name, default: []].append(try await Probe.concurrent(port: port, count: 50))
                }
            }
            for (name, _) in sides {
                let f = Probe.stats(fresh[name]!)
                let k = Probe.stats(keepAlive[name]!)
                figures.append(
                    String(
                        format:
                            "%@: fresh median %.3f ms p99 %.3f ms | keep-alive median %.3f ms p99 %.3f ms | 50 MB %.0f MB/s | 50 concurrent %.3f s",
                        name, f.median, f.p99, k.median, k.p99, Probe.stats(throughput[name]!).median,
                        Probe.stats(concurrent[name]!).median))
            }
            print(
                "forward comparison (interleaved A B A B, kubesim on this machine):\n" + figures.joined(separator: "\n")
            )
            await forward.stop()
            #expect(fresh["devloop"]!.count == 300 && fresh["kubectl"]!.count == 300)
        }
    }
}

struct ProbeError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Blocking socket measurements, each run on a thread of its own (never on the cooperative pool).
enum Probe {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    static func connect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw ProbeError("connect to \(port) failed")
        }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) {
        _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    /// Reads one response with a Content-Length body; returns the body size.
    static func readResponse(_ fd: Int32) throws -> Int {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var head = Data()
        var body = 0
        var length: Int?
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { throw ProbeError("the response ended early") }
            if let length {
                body += count
                if body >= length { return body }
                continue
            }
            head.append(contentsOf: buffer[0..<count])
            guard let end = head.range(of: Data("\r\n\r\n".utf8)) else { continue }
            let text = String(decoding: head[..<end.lowerBound], as: UTF8.self).lowercased()
            guard text.hasPrefix("http/1.1 200") else { throw ProbeError("unexpected response: \(text)") }
            let value =
                text.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }?
                .split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0
            length = value
            body = head.count - end.upperBound
            if body >= value { return body }
        }
    }

    static func fresh(port: UInt16) throws -> Double {
        let start = ContinuousClock.now
        let fd = try connect(port: port)
        defer { Glibc.close(fd) }
        send(fd, "GET /small HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        _ = try readResponse(fd)
        return milliseconds(since: start)
    }

    final class KeepAlive: @unchecked Sendable {
        let fd: Int32
        init(port: UInt16) throws { fd = try Probe.connect(port: port) }
        func request() throws -> Double {
            let start = ContinuousClock.now
            Probe.send(fd, "GET /small HTTP/1.1\r\nHost: bench\r\n\r\n")
            _ = try Probe.readResponse(fd)
            return Probe.milliseconds(since: start)
        }
        func close() { Glibc.close(fd) }
    }

    /// MB/s of one 50 MB download.
    static func download(port: UInt16) throws -> Double {
        let start = ContinuousClock.now
        let fd = try connect(port: port)
        defer { Glibc.close(fd) }
        send(fd, "GET /big HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        let bytes = try readResponse(fd)
        guard bytes == 50 << 20 else { throw ProbeError("downloaded \(bytes) bytes") }
        return 50 / (milliseconds(since: start) / 1000)
    }

    /// Seconds for `count` fresh-connection requests at once.
    static func concurrent(port: UInt16, count: Int) async throws -> Double {
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Double.self) { group in
            for _ in 0..<count { group.addTask { try await run { try fresh(port: port) } } }
            try await group.waitForAll()
        }
        return milliseconds(since: start) / 1000
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
    }

    static func stats(_ samples: [Double]) -> (median: Double, p99: Double) {
        let sorted = samples.sorted()
        return (sorted[sorted.count / 2], sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))])
    }
}

/// `kubectl port-forward pod/NAME :8080` as a child process; its chosen port is read from its output.
final class KubectlPortForward: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()

    init(kubeconfig: String, namespace: String, pod: String, remotePort: Int = 8080) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/kubectl")
        process.arguments = [
            "--kubeconfig", kubeconfig, "-n", namespace, "port-forward", "pod/\(pod)", ":\(remotePort)",
        ]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func port() async throws -> UInt16 {
        let handle = output.fileHandleForReading
        return try await Probe.run {
            var text = ""
            while !text.contains("\n") {
                let chunk = handle.availableData
                guard !chunk.isEmpty else { throw ProbeError("kubectl port-forward ended: \(text)") }
                text += String(decoding: chunk, as: UTF8.self)
            }
            // "Forwarding from 127.0.0.1:PORT -> REMOTE"
            guard let range = text.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
                let port = UInt16(text[range].split(separator: ":").last ?? "")
            else { throw ProbeError("no port in kubectl's output: \(text)") }
            return port
        }
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
