import Foundation
import KubeSim
import ProcessTestSupport
import Synchronization
import Testing

@testable import KubeSim

/// The real kubectl 1.32 against `SPDYPortForwardHandler` (behind a minimal API server) and a pod of
/// `BubblewrapPodRuntime`: the protocol as kubectl speaks it, both transports.
@Suite("kubectl port-forward through the SPDY handler")
struct KubectlPortForwardTests {
    @Test(arguments: [true, false])
    func kubectlPortForwardReachesThePod(tunnel: Bool) async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/kubectl"),
            "kubectl 1.32 is needed at /usr/bin/kubectl")
        let fixture = try RuntimeFixture()
        let marker = UUID().uuidString
        let site = try fixture.hostFolder("site", files: ["index.txt": "first \(marker)\n"])
        var pod = httpServerPod(uid: "pf-\(tunnel)", folder: site)
        pod.containers.append(RuntimeContainer(name: "echo", command: ["python3", "-c", Self.echoServer]))
        try await fixture.runtime.start(pod)
        try await fixture.waitFor(pod.uid, "Ready") { $0.ready }
        let runtime = fixture.runtime
        let uid = pod.uid
        let server = try await PortForwardTestServer.start(podName: "web", uid: uid, tunnel: tunnel) { port in
            try await runtime.dial(uid: uid, port: port)
        }
        let kubectl = try KubectlProcess(
            [
                "--kubeconfig", try server.kubeconfig(in: fixture.folder), "--cache-dir",
                fixture.folder.path + "/cache",
                "port-forward", "pod/web", "0:5000", "0:5999", "0:6000",
            ])
        defer { kubectl.stop() }
        let ports = try await kubectl.forwardedPorts(count: 3)
        let local = try #require(ports[5000])

        let first = await httpGet(try await hostConnect(local), path: "/index.txt")
        #expect(first == "first \(marker)\n")
        try "changed \(marker)\n".write(toFile: site + "/index.txt", atomically: true, encoding: .utf8)
        #expect(await httpGet(try await hostConnect(local), path: "/index.txt") == "changed \(marker)\n")
        // Several connections at once, each its own pair of streams.
        async let one = httpGet(try await hostConnect(local), path: "/index.txt")
        async let two = httpGet(try await hostConnect(local), path: "/index.txt")
        let both = try await [one, two]
        #expect(both == ["changed \(marker)\n", "changed \(marker)\n"])

        // A large body crosses intact (no SPDY flow control on either side, TCP back-pressure only).
        var state: UInt32 = 12345
        let bytes = [UInt8](unsafeUninitializedCapacity: 1 << 22) { buffer, count in
            for index in 0..<buffer.count {
                state = state &* 1_103_515_245 &+ 12345
                buffer[index] = 97 + UInt8((state >> 16) % 26)
            }
            count = buffer.count
        }
        let big = String(decoding: bytes, as: UTF8.self)
        try Data(bytes).write(to: URL(fileURLWithPath: site + "/big.txt"))
        let started = ContinuousClock.now
        let fetched = await httpGet(try await hostConnect(local), path: "/big.txt")
        let took = ContinuousClock.now - started
        #expect(fetched.count == big.count && fetched == big)
        print("kubectl port-forward (\(tunnel ? "WebSocket tunnel" : "plain SPDY")): 4 MiB in \(took)")

        // 4 MiB up and back through an echo server in the pod, the end of input passed on both ways.
        let echoed = try await echo(bytes, through: try #require(ports[6000]))
        #expect(echoed.count == bytes.count && echoed == bytes)

        // Nothing listens on 5999 in the pod: kubectl reports the error stream's text.
        let refused = try #require(ports[5999])
        #expect(await httpGet(try await hostConnect(refused), path: "/") == "")
        try await kubectl.waitForError(containing: "error forwarding port 5999 to pod web, uid \(pod.uid)")
        kubectl.stop()
        let upgrades = server.upgrades.text
        #expect(upgrades.hasPrefix(tunnel ? "websocket" : "spdy"), "upgrades: \(upgrades)")
        await server.stop()
        await fixture.tearDown()
    }
}

extension KubectlPortForwardTests {
    /// Echoes each connection until its input ends, then closes it.
    static let echoServer = """
        import socket, threading
        server = socket.create_server(("127.0.0.1", 6000))
        def serve(connection):
            while data := connection.recv(65536):
                connection.sendall(data)
            connection.close()
        while True:
            threading.Thread(target=serve, args=(server.accept()[0],), daemon=True).start()
        """

    /// Sends `bytes` to 127.0.0.1:`port`, half-closes, and returns everything read until the end.
    func echo(_ bytes: [UInt8], through port: Int) async throws -> [UInt8] {
        let fd = try await hostConnect(port)
        async let sent: Void = onDedicatedThread("test-send") {
            var offset = 0
            while offset < bytes.count {
                let count = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard count > 0 else { break }
                offset += count
            }
            shutdown(fd, Int32(SHUT_WR))
        }
        let received = await onDedicatedThread("test-receive") { () -> [UInt8] in
            var received: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = recv(fd, &chunk, chunk.count, 0)
                guard count > 0 else { break }
                received += chunk[0..<count]
            }
            return received
        }
        await sent
        close(fd)
        return received
    }
}

/// A TCP connection to 127.0.0.1:`port` on the host.
func hostConnect(_ port: Int) async throws -> Int32 {
    try await NetworkNamespaceDialer(namespacePath: "/proc/self/ns/net", podName: "host").connect(port: port)
}

/// kubectl running, its output collected.
final class KubectlProcess: Sendable {
    private let process: Process
    private let exit: OneShot<Int32>
    private let output = CollectedText()

    init(_ arguments: [String]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/kubectl")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let reader = pipe.fileHandleForReading
        exit = process.exitStatus()
        try process.run()
        let thread = Thread { [output] in
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                output.append(String(decoding: data, as: UTF8.self))
            }
        }
        thread.start()
    }

    var text: String { output.text }

    /// Local port per remote port, from kubectl's "Forwarding from 127.0.0.1:L -> R" lines.
    func forwardedPorts(count: Int) async throws -> [Int: Int] {
        for _ in 0..<300 {
            var ports: [Int: Int] = [:]
            for match in text.matches(of: /Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/) {
                ports[Int(match.2)!] = Int(match.1)!
            }
            if ports.count >= count { return ports }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("kubectl did not start forwarding: \(text)")
        throw FixtureError.timedOut("kubectl port-forward")
    }

    func waitForError(containing needle: String) async throws {
        for _ in 0..<200 where !text.contains(needle) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(text.contains(needle), "kubectl output: \(text)")
    }

    /// SIGTERM, and SIGKILL if that has not ended it within 5 s; never blocks the caller's thread.
    func stop() {
        guard exit.value == nil else { return }
        process.terminate()
        let (pid, exit) = (process.processIdentifier, exit)
        Task { if await exit.wait(timeout: .seconds(5)) == nil { kill(pid, SIGKILL) } }
    }
}

/// Text appended from one thread and read from others.
final class CollectedText: Sendable {
    private let storage = Mutex("")

    var text: String { storage.withLock { $0 } }

    func append(_ more: String) {
        storage.withLock { $0 += more }
    }
}
