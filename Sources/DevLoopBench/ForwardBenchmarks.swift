import DevLoop
import Foundation
import Logging

/// devloop's forward beside `kubectl port-forward` to the same Deployment's pod through the same
/// kubesim, every measurement interleaved A B A B so that a noisy machine moves both alike.
struct ForwardBenchmarks {
    let quick: Bool
    let report: Report

    /// http.server's listen backlog is 5: 50 connections at once would measure its SYN retries (1 s).
    static let server = """
        import http.server
        chunk = b"x" * 1000000
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                if self.path.startswith("/big?"):
                    count = int(self.path[5:])
                    self.send_response(200)
                    self.send_header("Content-Length", str(count * len(chunk)))
                    self.end_headers()
                    for _ in range(count):
                        self.wfile.write(chunk)
                    return
                if self.path == "/one":
                    self.wfile.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
                    return
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            def log_message(self, *args):
                pass
        class S(http.server.ThreadingHTTPServer):
            request_queue_size = 128
        S(("", 8080), H).serve_forever()
        """

    static var manifest: String {
        """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: bench
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: bench
        spec:
          replicas: 1
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: app
                image: devloop/bench
                command: ["python3", "-c", \(jsonString(server))]
                ports:
                - {name: http, containerPort: 8080}
                readinessProbe:
                  httpGet: {path: /small, port: 8080}
                  periodSeconds: 1
        """
    }

    func run() async throws {
        try await BenchCluster.run { cluster in
            _ = try await ManifestApplier(client: cluster.client).apply(yaml: Self.manifest, source: "bench manifest")
            let tracker = PodTracker(client: cluster.client, namespace: "bench", selector: "app=web", container: "app")
            let tracking = Task { try await tracker.run() }
            defer { tracking.cancel() }
            let first = try await tracker.target(.ready, within: .seconds(60))
            var logger = Logger(label: "devloop.forward")
            logger.logLevel = .warning
            let forward = PortForwardSession(
                client: cluster.client, target: tracker,
                spec: ForwardSpec(localPort: 0, remotePort: .number(8080), waitTimeout: .seconds(30)), logger: logger)
            let devloop = try await forward.start()
            func kubectlForward() throws -> KubectlPortForward {
                try KubectlPortForward(
                    kubeconfig: cluster.server.kubeconfigPath, namespace: "bench", target: "deployment/web",
                    remotePort: 8080)
            }
            var kubectl = try kubectlForward()
            do {
                try await measure(devloop: devloop, kubectl: try await kubectl.port())
                // A fresh kubectl for the replacement, as a user restarts one that broke under load.
                kubectl.stop()
                kubectl = try kubectlForward()
                try await replacement(
                    devloop: devloop, kubectl: try await kubectl.port(), cluster: cluster, tracker: tracker,
                    pod: first.name)
            } catch {
                kubectl.stop()
                await forward.stop()
                throw error
            }
            kubectl.stop()
            await forward.stop()
        }
    }

    private func measure(devloop: UInt16, kubectl: UInt16) async throws {
        let sides = [devloop, kubectl]
        // Warm both: the first request opens the upgraded connection to the pod.
        for port in sides { _ = try await Probe.run { try Probe.fresh(port: port) } }
        let requests = quick ? 200 : 2_000
        var fresh: [[Double]] = [[], []]
        for _ in 0..<requests {
            for (side, port) in sides.enumerated() {
                fresh[side].append(try await Probe.run { try Probe.fresh(port: port) })
            }
        }
        report.add(Figure("forward: request on a fresh connection", fresh[0], unit: "ms", baseline: fresh[1]))
        let connections = try await Probe.run { try sides.map { try Probe.KeepAlive(port: $0) } }
        defer { connections.forEach { $0.close() } }
        // http.server writes the head and the body apart; /one answers in one write, as most servers do.
        // The two-write case meets Nagle in the pod's server and delayed ACKs on the pod side of the
        // forward (the kubelet's socket, kubesim's here): a socket that sends a request less than the ACK
        // timeout (40 ms) after its last answer is taken as interactive, delays its ACK, and the body
        // waits 40 ms. Back to back, A B A B, the side measured right after the fast one always does:
        // strace showed kubesim's read of the body 42 ms after the head on devloop's side only, and the
        // order reversed, kubectl's side stalled instead (devloop 1.7 ms, kubectl 42 ms). So the
        // two-write requests are paced, 50 ms apart, for both sides alike.
        let cases = [
            ("/one", "one write", requests, Duration.zero),
            ("/small", "head and body in two writes", requests / 10, Duration.milliseconds(50)),
        ]
        for (path, what, count, pause) in cases {
            var keepAlive: [[Double]] = [[], []]
            for _ in 0..<count {
                for side in sides.indices {
                    if pause > .zero { try await Task.sleep(for: pause) }
                    let connection = connections[side]
                    keepAlive[side].append(try await Probe.run { try connection.request(path: path) })
                }
            }
            report.add(
                Figure(
                    "forward: keep-alive request, \(what)", keepAlive[0], unit: "ms", baseline: keepAlive[1]))
        }
        let megabytes = 200
        var throughput: [[Double]] = [[], []]
        for _ in 0..<(quick ? 1 : 5) {
            for (side, port) in sides.enumerated() {
                throughput[side].append(try await Probe.run { try Probe.download(port: port, megabytes: megabytes) })
            }
        }
        report.add(
            Figure("forward: \(megabytes) MB download", throughput[0], unit: "MB/s", baseline: throughput[1]))
        var concurrent: [[Double]] = [[], []]
        var failed = [0, 0]
        let rounds = quick ? 3 : 10
        for _ in 0..<rounds {
            for (side, port) in sides.enumerated() {
                let round = try await Probe.concurrent(port: port, count: 50)
                concurrent[side].append(round.milliseconds)
                failed[side] += round.failed
            }
        }
        report.add(
            Figure("forward: 50 concurrent fresh connections", concurrent[0], unit: "ms", baseline: concurrent[1]))
        var failures = Figure.single(
            "forward: 50 concurrent, failed requests", Double(failed[0]), unit: "requests",
            baseline: Double(failed[1]))
        failures.n = rounds * 50
        failures.baseline?.n = rounds * 50
        report.add(failures)
    }

    /// Sequential requests on both sides (interleaved) while the pod is deleted and the Deployment
    /// brings a new one: before, across the gap, and after the new pod is ready.
    private func replacement(
        devloop: UInt16, kubectl: UInt16, cluster: BenchCluster, tracker: PodTracker, pod: String
    ) async throws {
        var failed = [0, 0]
        var sent = 0
        func round() async {
            sent += 1
            // devloop's forward holds a connection until the new pod serves; kubectl's gets 5 s.
            for (side, port, timeout) in [(0, devloop, 40), (1, kubectl, 5)] {
                let answered =
                    (try? await Probe.run { try Probe.get(port: port, path: "/small", timeout: timeout) }) == "ok"
                if !answered { failed[side] += 1 }
            }
        }
        for _ in 0..<20 { await round() }
        try await cluster.client.delete("/api/v1/namespaces/bench/pods/\(pod)")
        let deadline = ContinuousClock.now + .seconds(90)
        for _ in 0..<200 where ContinuousClock.now < deadline {
            await round()
            if let current = await tracker.currentPod, current.name != pod, current.ready { break }
        }
        for _ in 0..<20 { await round() }
        var figure = Figure.single(
            "forward: failed requests across a pod replacement", Double(failed[0]), unit: "requests",
            baseline: Double(failed[1]))
        figure.n = sent
        figure.baseline?.n = sent
        report.add(figure)
        guard failed[0] == 0 else {
            throw BenchError("devloop's forward failed \(failed[0]) of \(sent) requests across a pod replacement")
        }
    }
}

func jsonString(_ text: String) -> String {
    String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
}
