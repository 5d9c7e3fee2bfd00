import DevLoop
import Foundation
import LockedValue
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// PortForwardSession against a kubesim the test starts: both SPDY carriers, the pod followed through a
/// container restart and a replacement, and the local listener's promises.
@Suite(.serialized, .timeLimit(.minutes(5))) struct PortForwardSessionTests {
    static func sitePod(_ sim: KubeSimFixture, namespace: String) async throws -> (PodTarget, Data) {
        let site = sim.directory.appendingPathComponent("site")
        try FileManager.default.createDirectory(at: site.appendingPathComponent("n"), withIntermediateDirectories: true)
        for index in 0..<100 { try Data("page \(index)".utf8).write(to: site.appendingPathComponent("n/\(index)")) }
        let big = TestData.pattern(megabytes: 100)
        try big.write(to: site.appendingPathComponent("big"))
        return (try await sim.runSitePod(namespace: namespace, serving: site), big)
    }

    static func session(configured limit: Int = 100) -> URLSession {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = limit
        configuration.timeoutIntervalForRequest = 120
        return URLSession(configuration: configuration)
    }

    @Test(arguments: [PortForwardProtocol.spdy, .spdyOverWebSocket])
    func multiplexesConcurrentRequestsAndAHundredMegabytes(mode: PortForwardProtocol) async throws {
        try await KubeSimFixture.run { sim in
            let (target, big) = try await Self.sitePod(sim, namespace: "fwd")
            let forward = PortForwardSession(
                client: sim.client, target: FixedPodTarget(target),
                spec: ForwardSpec(localPort: 0, remotePort: .number(8080), waitTimeout: .seconds(20)),
                forwardProtocol: mode)
            let events = Locked<[ForwardEvent]>([])
            let collector = Task { for await event in forward.events { events.withLock { $0.append(event) } } }
            let port = try await forward.start()
            let session = Self.session()
            let base = "http://127.0.0.1:\(port)"
            // The server may not listen yet: the session waits and retries, so the first request succeeds.
            let (first, _) = try await session.data(from: URL(string: "\(base)/n/0")!)
            #expect(String(decoding: first, as: UTF8.self) == "page 0")
            let pages = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<100 {
                    group.addTask {
                        let (data, _) = try await session.data(from: URL(string: "\(base)/n/\(index)")!)
                        return (index, String(decoding: data, as: UTF8.self))
                    }
                }
                return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
            }
            #expect((0..<100).allSatisfy { pages[$0] == "page \($0)" })
            let started = ContinuousClock.now
            let (data, _) = try await session.data(from: URL(string: "\(base)/big")!)
            let elapsed = ContinuousClock.now - started
            print("port-forward session (\(mode)): 100 MB in \(elapsed), \(Int(100 / elapsed.seconds)) MB/s")
            #expect(data.count == big.count)
            #expect(data == big)
            await forward.stop()
            await collector.value
            // One upgraded connection carried every request, over the protocol asked for.
            let connected = events.current.filter { if case .connected = $0 { true } else { false } }
            #expect(connected == [.connected(target: target, protocol: mode)])
            #expect(!events.current.contains { if case .failed = $0 { true } else { false } })
        }
    }

    /// 200 sequential requests on fresh connections; at 50 the server process is killed (its container
    /// restarts), at 120 the pod is deleted (its Deployment brings a replacement).
    @Test func noFailedRequestsThroughAContainerRestartAndAPodReplacement() async throws {
        try await KubeSimFixture.run { sim in
            // The token marks the server's command line, so the test can find it among the host's processes.
            let token = "devloop-forward-\(UUID().uuidString)"
            try await sim.apply(
                """
                apiVersion: v1
                kind: Namespace
                metadata: {name: loop}
                ---
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: web, namespace: loop}
                spec:
                  replicas: 1
                  selector: {matchLabels: {app: web}}
                  template:
                    metadata: {labels: {app: web}}
                    spec:
                      containers:
                      - name: app
                        image: devloop/test
                        command: ["python3", "-c", \(KubeSimFixture.jsonString(Self.server)), "\(token)"]
                """)
            let source = DeploymentPodSource(client: sim.client, namespace: "loop", selector: "app=web")
            defer { source.stop() }
            let first = try await source.readyTarget(within: .seconds(60))
            let forward = PortForwardSession(
                client: sim.client, target: source,
                spec: ForwardSpec(localPort: 0, remotePort: .number(8080), waitTimeout: .seconds(30)))
            let events = Locked<[ForwardEvent]>([])
            let collector = Task { for await event in forward.events { events.withLock { $0.append(event) } } }
            let port = try await forward.start()
            let session = Self.session(configured: 1)
            let url = URL(string: "http://127.0.0.1:\(port)/hostname")!
            var failures: [String] = []
            var answers = 0
            for index in 0..<200 {
                if index == 50 {
                    let killed = Self.killProcesses(marked: token)
                    #expect(killed == 1)
                }
                if index == 120 {
                    let current = try await source.readyTarget(within: .seconds(60))
                    try await sim.client.delete("/api/v1/namespaces/loop/pods/\(current.name)")
                    while !source.hasSeenLeave(of: current.name) { await source.nextChange(within: .seconds(5)) }
                }
                do {
                    var request = URLRequest(url: url)
                    request.setValue("close", forHTTPHeaderField: "Connection")
                    let (_, response) = try await session.data(for: request)
                    if (response as? HTTPURLResponse)?.statusCode == 200 {
                        answers += 1
                    } else {
                        failures.append("\(index): \(response)")
                    }
                } catch {
                    failures.append("\(index): \(error)")
                }
            }
            #expect(failures.isEmpty)
            #expect(answers == 200)
            let pod = try await sim.client.get("/api/v1/namespaces/loop/pods")
            let names = (pod["items"]?.array ?? []).compactMap { $0[path: "metadata", "name"]?.string }
            #expect(!names.contains(first.name))
            await forward.stop()
            await collector.value
            #expect(
                events.current.contains {
                    if case .targetChanged(let from, _) = $0 { from.name == first.name } else { false }
                })
        }
    }

    /// An HTTP/1.0 server (one connection per request) on port 8080 answering with the path.
    static let server = """
        import http.server
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = self.path.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        http.server.ThreadingHTTPServer(("", 8080), H).serve_forever()
        """

    /// SIGKILLs the python3 processes whose command line contains `marker` (not the sandbox around
    /// them); returns how many.
    static func killProcesses(marked marker: String) -> Int {
        var killed = 0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                case let words = raw.split(separator: 0).map({ String(decoding: $0, as: UTF8.self) }),
                words.first?.hasSuffix("python3") == true, words.contains(marker)
            else { continue }
            if kill(pid, SIGKILL) == 0 { killed += 1 }
        }
        return killed
    }

    @Test func aTakenPortNamesTheProcessHoldingIt() async throws {
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, length) }
        }
        #expect(listen(holder, 1) == 0)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(holder, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)
        let client = KubeClient(config: KubeClientConfig(server: URL(string: "https://127.0.0.1:1")!))
        let forward = PortForwardSession(
            client: client, target: FixedPodTarget(PodTarget(namespace: "dev", name: "web")),
            spec: ForwardSpec(localPort: port))
        do {
            try await forward.start()
            Issue.record("the forward listened on a taken port")
        } catch {
            let text = "\(error)"
            #expect(text.contains("127.0.0.1:\(port)"))
            #expect(text.contains("pid \(getpid())"))
        }
        await forward.stop()
    }

    @Test func listensOnLoopbackOnlyUnlessTold() async throws {
        let client = KubeClient(config: KubeClientConfig(server: URL(string: "https://127.0.0.1:1")!))
        let forward = PortForwardSession(
            client: client, target: FixedPodTarget(PodTarget(namespace: "dev", name: "web")),
            spec: ForwardSpec(localPort: 0, waitTimeout: .milliseconds(100)))
        let port = try await forward.start()
        #expect(Self.connects(to: "127.0.0.1", port: port))
        // Another address of this machine: nothing listens there.
        #expect(!Self.connects(to: "127.0.0.2", port: port))
        await forward.stop()
        // Stopped means the port is free again.
        #expect(!Self.connects(to: "127.0.0.1", port: port))
    }

    static func connects(to host: String, port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    }
}
