import DevLoop
import Foundation
import Testing

/// Many short forwarded connections on one SPDY connection: each one's end (a FIN frame sent from its
/// upload thread) is queued while the connection's I/O thread is reading the next replies. Senders
/// once copied the carrier the I/O thread mutates, a data race on its buffer that aborted the process
/// ("__DataStorage deallocated with non-zero retain count") within a few hundred connections.
@Suite(.serialized, .timeLimit(.minutes(5))) struct SPDYConnectionRaceTests {
    @Test(arguments: [PortForwardProtocol.spdy, .spdyOverWebSocket])
    func thousandsOfShortConnectionsOnOneSPDYConnection(mode: PortForwardProtocol) async throws {
        try await KubeSimFixture.run { sim in
            try await sim.apply(
                KubeSimFixture.podManifest(
                    namespace: "race", name: "web", command: "exec python3 -m http.server 8080 --directory /etc"))
            try await sim.waitForRunningPod("race", "web")
            let pod = try await sim.client.get("/api/v1/namespaces/race/pods/web")
            let target = PodTarget(namespace: "race", name: "web", uid: pod[path: "metadata", "uid"]?.string ?? "")
            let forward = PortForwardSession(
                client: sim.client, target: FixedPodTarget(target),
                spec: ForwardSpec(localPort: 0, remotePort: .number(8080), waitTimeout: .seconds(20)),
                forwardProtocol: mode)
            let port = try await forward.start()
            #expect(await httpGet(port: port, path: "/hostname", timeout: 30)?.status == 200)
            let failures = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        var failed = 0
                        for _ in 0..<400 where await httpGet(port: port, path: "/hostname")?.status != 200 {
                            failed += 1
                        }
                        return failed
                    }
                }
                return try await group.reduce(0, +)
            }
            await forward.stop()
            #expect(failures == 0)
        }
    }
}
