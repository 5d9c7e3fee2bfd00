import DevLoop
import Foundation
import LockedValue
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Both directions of a forwarded connection at once. A client that uploads before it reads (an HTTP
/// upload answered early, a streaming RPC) while the pod already sends must not hang the forward: the
/// data from the pod must never block the thread that sends the client's upload.
@Suite(.serialized) struct PortForwardDuplexTests {
    static let size = 20 << 20
    static let up = TestData.pattern(megabytes: 20)
    static let down = TestData.pattern(megabytes: 20)
    /// Catches a deadlock, measures nothing: 20 MB each way took 32-48 s in a debug build under a
    /// load of 22 on 2 cores (under 1 s idle).
    static let hangBound = 180

    @Test func uploadThenDownloadWhileThePodSendsAtOnce() async throws {
        // The pod writes its 20 MB at once and reads the client's 20 MB on another thread.
        let pod = try TCPServer { connection in
            let reader = Thread { connection.received = TCPServer.readAll(connection.fd, Self.size) }
            reader.start()
            _ = TCPServer.writeAll(connection.fd, Self.down)
            connection.waitForReader(reader)
        }
        defer { pod.stop() }
        try await StreamTests().withExecServer(supported: [], target: pod.port) { client in
            let forwarder = try PortForwarder(
                client: client, namespace: "dev", pod: "web", remotePort: 8080, halfClosedIdle: .seconds(1)
            ) { _ in }
            forwarder.start()
            defer { forwarder.stop() }
            let started = ContinuousClock.now
            let received = try await TCPServer.exchange(port: forwarder.localPort, timeout: Self.hangBound) { fd in
                // Everything up first, then read: only works if the forward keeps both directions going.
                guard TCPServer.writeAll(fd, Self.up) else { return nil }
                return TCPServer.readAll(fd, Self.size)
            }
            print("port-forward: 20 MB each way, upload first, in \(ContinuousClock.now - started)")
            #expect(received == Self.down, "the client got \(received?.count ?? 0) of \(Self.size) bytes")
            // The pod may still be reading the end of the upload when the client has its download
            // (under a load of 22 the last megabytes took more than 10 s: a bound against a hang only).
            let deadline = ContinuousClock.now + .seconds(120)
            while pod.lastReceived == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(pod.lastReceived == Self.up, "the pod got \(pod.lastReceived?.count ?? 0) bytes")
            try await pod.waitUntilIdle()
        }
    }

    /// A client that shuts down its sending side after the request (`nc -N`, HTTP/1.0) still gets the
    /// reply the pod sends afterwards.
    @Test func halfClosedClientStillGetsTheReply() async throws {
        let pod = try TCPServer { connection in
            _ = TCPServer.readAll(connection.fd, 4)
            usleep(300_000)
            _ = TCPServer.writeAll(connection.fd, Data("pong".utf8))
        }
        defer { pod.stop() }
        try await StreamTests().withExecServer(supported: [], target: pod.port) { client in
            let forwarder = try PortForwarder(
                client: client, namespace: "dev", pod: "web", remotePort: 8080, halfClosedIdle: .seconds(1)
            ) { _ in }
            forwarder.start()
            defer { forwarder.stop() }
            let reply = try await TCPServer.exchange(port: forwarder.localPort, timeout: 20) { fd in
                guard TCPServer.writeAll(fd, Data("ping".utf8)) else { return nil }
                shutdown(fd, Int32(SHUT_WR))
                return TCPServer.readAll(fd, 1024)
            }
            #expect(reply == Data("pong".utf8))
            try await pod.waitUntilIdle()
        }
    }

    @Test func echoesTwentyMegabytesWithBothDirectionsConcurrent() async throws {
        let pod = try TCPServer { connection in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(connection.fd, &buffer, buffer.count)
                if count <= 0 { break }
                guard TCPServer.writeAll(connection.fd, Data(buffer[0..<count])) else { break }
            }
        }
        defer { pod.stop() }
        try await StreamTests().withExecServer(supported: [], target: pod.port) { client in
            let forwarder = try PortForwarder(
                client: client, namespace: "dev", pod: "web", remotePort: 8080, halfClosedIdle: .seconds(1)
            ) { _ in }
            forwarder.start()
            defer { forwarder.stop() }
            let received = try await TCPServer.exchange(port: forwarder.localPort, timeout: Self.hangBound) { fd in
                let writer = Thread { _ = TCPServer.writeAll(fd, Self.up) }
                writer.start()
                return TCPServer.readAll(fd, Self.size)
            }
            #expect(received == Self.up, "the echo returned \(received?.count ?? 0) of \(Self.size) bytes")
            // kubectl listens on [::1] too: clients that resolve localhost to ::1 first must get through.
            let hello = Data("hello over ipv6".utf8)
            let echoed = try await TCPServer.exchange(port: forwarder.localPort, ipv6: true, timeout: 20) { fd in
                TCPServer.writeAll(fd, hello) ? TCPServer.readAll(fd, hello.count) : nil
            }
            #expect(echoed == hello)
            try await pod.waitUntilIdle()
        }
    }
}

/// A plain TCP server on 127.0.0.1 standing in for the process in the pod: each connection is handed
/// to `serve` on its own thread.
final class TCPServer: @unchecked Sendable {
    final class Connection: @unchecked Sendable {
        let fd: Int32
        var received: Data?

        init(fd: Int32) { self.fd = fd }

        func waitForReader(_ reader: Thread) {
            while !reader.isFinished { usleep(10_000) }
        }
    }

    let port: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var received: Data?
    private var active = 0

    init(serve: @escaping @Sendable (Connection) -> Void) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 8) == 0
                    && getsockname(listener, $0, &length) == 0
            }
        }
        guard bound else { throw CocoaError(.fileWriteUnknown) }
        port = UInt16(bigEndian: address.sin_port)
        Thread { [self] in
            while true {
                let fd = accept(listener, nil, nil)
                if fd < 0 { return }
                lock.withLock { active += 1 }
                Thread { [self] in
                    let connection = Connection(fd: fd)
                    serve(connection)
                    lock.withLock { received = connection.received }
                    shutdown(fd, Int32(SHUT_RDWR))
                    close(fd)
                    lock.withLock { active -= 1 }
                }.start()
            }
        }.start()
    }

    var lastReceived: Data? { lock.withLock { received } }

    /// Waits until every connection has been served and closed, then a little more: the fake kubelet
    /// sends its close frame after the pod's socket closes, and must do so before its server stops.
    func waitUntilIdle() async throws {
        for _ in 0..<100 where lock.withLock({ active }) > 0 { try await Task.sleep(for: .milliseconds(100)) }
        try await Task.sleep(for: .milliseconds(500))
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = send(
                    fd, bytes.baseAddress! + offset, min(bytes.count - offset, 1 << 16), Int32(MSG_NOSIGNAL))
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
    }

    static func readAll(_ fd: Int32, _ count: Int) -> Data {
        var data = Data(capacity: count)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while data.count < count {
            let got = read(fd, &buffer, min(buffer.count, count - data.count))
            if got <= 0 { break }
            data.append(contentsOf: buffer[0..<got])
        }
        return data
    }

    /// Connects to 127.0.0.1:`port` and runs `body` on a thread; past `timeout` seconds the socket is shut
    /// down and the test fails, so that a hang shows as a failure instead of a stuck test run.
    static func exchange(
        port: UInt16, ipv6: Bool = false, timeout: Int, _ body: @escaping @Sendable (Int32) -> Data?
    ) async throws -> Data? {
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connected: Int32
        if ipv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_addr = in6addr_loopback
            connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        defer { close(fd) }
        guard connected == 0 else {
            Issue.record("cannot connect to the port-forward on \(ipv6 ? "[::1]" : "127.0.0.1"):\(port)")
            return nil
        }
        let result = Locked<Data?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            result.withLock { $0 = body(fd) }
            done.signal()
        }.start()
        let finished = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: done.wait(timeout: .now() + .seconds(timeout)))
            }
        }
        if finished == .timedOut {
            Issue.record("the exchange through the port-forward hung for \(timeout) s (deadlock)")
            shutdown(fd, Int32(SHUT_RDWR))
            done.wait()
        }
        return result.current
    }
}
