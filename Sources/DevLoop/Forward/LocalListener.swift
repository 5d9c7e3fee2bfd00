import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP listener on one local address (loopback unless the config names another), handing each
/// accepted socket to a handler. On 127.0.0.1 it also listens, like kubectl, on [::1] at the same port
/// where the machine has IPv6: some clients resolve `localhost` to ::1 first and do not fall back.
/// Its thread sleeps in poll() with no timeout; `stop()` wakes it through a pipe.
final class LocalListener: @unchecked Sendable {
    let port: UInt16
    let address: String
    private let descriptors: [Int32]
    private let wakeup: EventWakeup
    private let stopped = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)

    init(address: String = "127.0.0.1", port: UInt16) throws {
        let address = address == "localhost" ? "127.0.0.1" : address
        self.address = address
        wakeup = try EventWakeup()
        let primary = try Self.listen(address: address, port: port)
        self.port = primary.port
        var all = [primary.descriptor]
        if address == "127.0.0.1", let v6 = try? Self.listen(address: "::1", port: primary.port) {
            all.append(v6.descriptor)
        }
        descriptors = all
    }

    private static func listen(address: String, port: UInt16) throws -> (descriptor: Int32, port: UInt16) {
        var storage = sockaddr_storage()
        let length: socklen_t
        let family: Int32
        if address.contains(":") {
            var v6 = sockaddr_in6()
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, address, &v6.sin6_addr) == 1 else { throw PortForwardError.badAddress(address) }
            withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: withUnsafeBytes(of: v6) { Array($0) }) }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            family = AF_INET6
        } else {
            var v4 = sockaddr_in()
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            guard inet_pton(AF_INET, address, &v4.sin_addr) == 1 else { throw PortForwardError.badAddress(address) }
            withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: withUnsafeBytes(of: v4) { Array($0) }) }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            family = AF_INET
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw PortForwardError.listen(address: address, port: port, detail: String(cString: strerror(errno)))
        }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &yes, socklen_t(MemoryLayout<Int32>.size))
        }
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, Glibc.listen(fd, 512) == 0 else {
            let code = errno
            Glibc.close(fd)
            var detail = String(cString: strerror(code))
            if code == EADDRINUSE, port != 0 { detail += ": " + PortHolder.describe(port: port) }
            throw PortForwardError.listen(address: address, port: port, detail: detail)
        }
        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        let actualPort = withUnsafeBytes(of: actual) { bytes in
            // sin_port and sin6_port sit at the same offset, right after the family.
            UInt16(bigEndian: bytes.load(fromByteOffset: 2, as: UInt16.self))
        }
        return (fd, actualPort)
    }

    /// Accepts on its own thread until `stop()`.
    func start(_ handle: @escaping @Sendable (Int32) -> Void) {
        let thread = Thread { [self] in
            defer {
                descriptors.forEach { Glibc.close($0) }
                finished.signal()
            }
            while !stopped.withLock({ $0 }) {
                var polled = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                polled.append(pollfd(fd: wakeup.descriptor, events: Int16(POLLIN), revents: 0))
                guard poll(&polled, nfds_t(polled.count), -1) > 0 else { continue }
                if stopped.withLock({ $0 }) { return }
                for ready in polled.dropLast() where ready.revents & Int16(POLLIN) != 0 {
                    let client = accept(ready.fd, nil, nil)
                    guard client >= 0 else { continue }
                    _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                    var yes: Int32 = 1
                    setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
                    handle(client)
                }
            }
        }
        thread.name = "devloop-port-forward-listener"
        thread.start()
    }

    /// Stops accepting; returns once the listening sockets are closed (the port is free again).
    func stop() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        wakeup.signal()
    }

    /// Waits up to `timeout` for the listener thread to close its sockets.
    func waitUntilStopped(timeout: TimeInterval = 5) -> Bool {
        guard finished.wait(timeout: .now() + timeout) == .success else { return false }
        finished.signal()
        return true
    }
}

public enum PortForwardError: Error, Sendable, CustomStringConvertible {
    case listen(address: String, port: UInt16, detail: String)
    case badAddress(String)
    case remote(pod: String, port: UInt16, message: String)
    case portName(String)

    public var description: String {
        switch self {
        case .listen(let address, let port, let detail):
            let host = address.contains(":") ? "[\(address)]" : address
            return "cannot listen on \(host):\(port): \(detail)"
        case .badAddress(let address): return "forward address \"\(address)\" is not an IP address"
        case .remote(let pod, let port, let message): return "port-forward to \(pod):\(port) failed: \(message)"
        case .portName(let name):
            return "forward remote port \"\(name)\" is a name: the session needs a resolver for it"
        }
    }
}
