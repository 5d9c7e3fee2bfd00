import Foundation
import KubeSim
import NIOCore
import Testing

/// The WebSocket channel protocols a client without SPDY uses (devloop's own client; a 1.25 API
/// server offers only v4): exec v4 and v5, port-forward v4.
@Suite struct ChannelProtocolTests {
    @Test func execOverV4AndV5() async throws {
        let (server, _, _, pod) = try await APIServerStreamTests.startWithPod("execv4")
        let base = "/api/v1/namespaces/shop/pods/\(pod)/exec?command=sh&command=-c&command="
        let failing = try await TestWebSocket.connect(
            server, path: base + "echo%20out;%20echo%20err%20%3E%262;%20exit%207&stdout=true&stderr=true",
            protocols: ["v4.channel.k8s.io"])
        #expect(failing.subprotocol == "v4.channel.k8s.io")
        let messages = await failing.collect()
        #expect(messages.filter { $0.0 == 1 }.flatMap(\.1) == Array("out\n".utf8))
        #expect(messages.filter { $0.0 == 2 }.flatMap(\.1) == Array("err\n".utf8))
        let status = try JSON.parse(Data(messages.first { $0.0 == 3 }?.1 ?? []))
        #expect(status["status"] == "Failure")
        #expect(status["reason"] == "NonZeroExitCode")
        #expect(status[path: ["details", "causes"]]?.arrayValue?.first?["message"] == "7")

        let cat = try await TestWebSocket.connect(
            server, path: base + "cat&stdin=true&stdout=true", protocols: ["v5.channel.k8s.io", "v4.channel.k8s.io"])
        #expect(cat.subprotocol == "v5.channel.k8s.io")
        try await cat.send(channel: 0, Array("ping\n".utf8))
        try await cat.send(channel: 255, [0])
        let echoed = await cat.collect()
        #expect(echoed.filter { $0.0 == 1 }.flatMap(\.1) == Array("ping\n".utf8))
        #expect(try JSON.parse(Data(echoed.first { $0.0 == 3 }?.1 ?? []))["status"] == "Success")
        await server.stop()
    }

    @Test func portForwardOverV4() async throws {
        let (server, runtime, _, pod) = try await APIServerStreamTests.startWithPod("pfv4")
        let echo = try await UppercaseServer.start()
        runtime.portMap[5000] = echo.port
        let socket = try await TestWebSocket.connect(
            server, path: "/api/v1/namespaces/shop/pods/\(pod)/portforward?ports=5000",
            protocols: ["v4.channel.k8s.io"])
        #expect(socket.subprotocol == "v4.channel.k8s.io")
        try await socket.send(channel: 0, Array("hello".utf8))
        var data: [UInt8] = []
        var prefixes: [UInt8: [UInt8]] = [:]
        for await var message in socket.messages {
            let number = message.readInteger(as: UInt8.self) ?? 255
            let bytes = message.readBytes(length: message.readableBytes) ?? []
            if prefixes[number] == nil {
                prefixes[number] = bytes
                continue
            }
            if number == 0 { data += bytes }
            if data.count >= 5 { break }
        }
        #expect(prefixes[0] == [0x88, 0x13])
        #expect(prefixes[1] == [0x88, 0x13])
        #expect(data == Array("HELLO".utf8))
        try await socket.channel.close()
        try await echo.stop()
        await server.stop()
    }
}

extension ChannelProtocolTests {
    /// kubectl's fallback when the WebSocket tunnel is refused or disabled: a plain SPDY/3.1 upgrade.
    @Test func kubectlPortForwardOverPlainSPDY() async throws {
        let (server, runtime, kubectl, pod) = try await APIServerStreamTests.startWithPod("spdy")
        let upper = try await UppercaseServer.start()
        runtime.portMap[5000] = upper.port
        let local = try FreePort.pick()
        let forward = try kubectl.start(
            ["port-forward", "-n", "shop", "pod/\(pod)", "\(local):5000", "-v=6"],
            environment: ["KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"])
        try await forward.waitForOutput("the forward") { $0.contains("Forwarding from 127.0.0.1:\(local)") }
        let socket = try HostSocket.connect(port: local)
        defer { close(socket) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = "hello".withCString { write(socket, $0, 5) }
        var buffer = [UInt8](repeating: 0, count: 5)
        var received = 0
        while received < 5 {
            let count = buffer.withUnsafeMutableBytes { read(socket, $0.baseAddress! + received, 5 - received) }
            guard count > 0 else { break }
            received += count
        }
        #expect(String(decoding: buffer, as: UTF8.self) == "HELLO")
        #expect(forward.stderr.contains("101 Switching Protocols"))
        forward.stop()
        try await upper.stop()
        await server.stop()
    }
}
