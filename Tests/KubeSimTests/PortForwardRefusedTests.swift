import Foundation
import KubeSim
import NIOCore
import Synchronization
import Testing

/// A forward to a port nobody listens on in the pod: the kubelet writes the error on the port's error
/// channel and closes the WebSocket once its only port has ended. A simulator that keeps the stream
/// open leaves the client (and a browser behind it) waiting until its own timeout.
@Suite struct PortForwardRefusedTests {
    @Test func aRefusedPortIsReportedAndTheWebSocketCloses() async throws {
        let (server, runtime, _, pod) = try await APIServerStreamTests.startWithPod("pfrefused")
        runtime.portMap[5000] = try FreePort.pick()
        let socket = try await TestWebSocket.connect(
            server, path: "/api/v1/namespaces/shop/pods/\(pod)/portforward?ports=5000",
            protocols: ["v4.channel.k8s.io"])
        let timedOut = Atomic(false)
        let timer = Task {
            try await Task.sleep(for: .seconds(20))
            timedOut.store(true, ordering: .relaxed)
            try? await socket.channel.close()
        }
        let received = await socket.collect()
        timer.cancel()
        let stayedOpen = timedOut.load(ordering: .relaxed)
        #expect(!stayedOpen, "the WebSocket stayed open after the port's dial failed")
        let errors = received.filter { $0.0 == 1 }.map(\.1).filter { $0 != [0x88, 0x13] }
        let text = String(decoding: errors.joined(), as: UTF8.self)
        #expect(text.contains("error forwarding port 5000 to pod \(pod)"), "\(text)")
        try? await socket.channel.close()
        await server.stop()
    }
}
