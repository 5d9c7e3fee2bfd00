import Foundation
import KubeSim
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
        let pod = httpServerPod(uid: "pf-\(tunnel)", folder: site)
        try await fixture.runtime.start(pod)
        try await fixture.waitFor(pod.uid, "Ready") { $0.ready }
        let runtime = fixture.runtime
        let server = try await PortForwardTestServer.start(podName: "web", uid: pod.uid, tunnel: tunnel) { port in
            try await runtime.dial(uid: pod.uid, port: port)
        }
        let kubectl = try KubectlProcess(
            [
                "--kubeconfig", try server.kubeconfig(in: fixture.folder), "--cache-dir",
                fixture.folder.path + "/cache",
                "port-forward", "pod/web", "0:5000", "0:5999",
            ])
        defer { kubectl.stop() }
        let ports = try await kubectl.forwardedPorts(count: 2)
        let local = try #require(ports[5000])

        #expect(await httpGet(try await hostConnect(local), path: "/index.txt") == "first \(marker)\n")
        try "changed \(marker)\n".write(toFile: site + "/index.txt", atomically: true, encoding: .utf8)
        #expect(await httpGet(try await hostConnect(local), path: "/index.txt") == "changed \(marker)\n")
        // Several connections at once, each its own pair of streams.
        async let one = httpGet(try await hostConnect(local), path: "/index.txt")
        async let two = httpGet(try await hostConnect(local), path: "/index.txt")
        let both = try await [one, two]
        #expect(both == ["changed \(marker)\n", "changed \(marker)\n"])

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

/// A TCP connection to 127.0.0.1:`port` on the host.
func hostConnect(_ port: Int) async throws -> Int32 {
    try await NetworkNamespaceDialer(namespacePath: "/proc/self/ns/net", podName: "host").connect(port: port)
}

/// kubectl running, its output collected.
final class KubectlProcess: Sendable {
    private let process: Process
    private let output = CollectedText()

    init(_ arguments: [String]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/kubectl")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let reader = pipe.fileHandleForReading
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

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
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
