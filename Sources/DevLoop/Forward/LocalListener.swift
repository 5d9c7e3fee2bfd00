import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP listener on loopback only (never all interfaces), handing each accepted socket to a handler.
/// Like kubectl it listens on 127.0.0.1 and, where the machine has IPv6, on [::1] at the same port: some
/// clients resolve `localhost` to ::1 first and do not fall back.
final class LocalListener: @unchecked Sendable {
    let port: UInt16
    private let descriptor: Int32
    private let descriptorV6: Int32?
    private let stopped = Locked(false)

    init(port: UInt16) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PortForwardError.listen(port: port, detail: String(cString: strerror(errno))) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let detail = String(cString: strerror(errno))
            Glibc.close(fd)
            throw PortForwardError.listen(port: port, detail: detail)
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        self.port = UInt16(bigEndian: actual.sin_port)
        descriptorV6 = Self.listenV6(port: self.port)
    }

    /// [::1]:port, or nil when IPv6 loopback is unavailable (kubectl then keeps the IPv4 listener alone).
    private static func listenV6(port: UInt16) -> Int32? {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        address.sin6_addr = in6addr_loopback
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            Glibc.close(fd)
            return nil
        }
        return fd
    }

    /// Accepts on its own thread until `stop()`.
    func start(_ handle: @escaping @Sendable (Int32) -> Void) {
        let thread = Thread { [self] in
            let listening = [descriptor] + (descriptorV6.map { [$0] } ?? [])
            while !stopped.current {
                var descriptors = listening.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                guard poll(&descriptors, nfds_t(descriptors.count), 200) > 0 else { continue }
                for ready in descriptors where ready.revents & Int16(POLLIN) != 0 {
                    let client = accept(ready.fd, nil, nil)
                    guard client >= 0 else { continue }
                    var yes: Int32 = 1
                    setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
                    handle(client)
                }
            }
            listening.forEach { Glibc.close($0) }
        }
        thread.name = "devloop-port-forward-listener"
        thread.start()
    }

    func stop() {
        stopped.withLock { $0 = true }
    }
}

public enum PortForwardError: Error, Sendable, CustomStringConvertible {
    case listen(port: UInt16, detail: String)
    case remote(pod: String, port: UInt16, message: String)

    public var description: String {
        switch self {
        case .listen(let port, let detail): return "cannot listen on 127.0.0.1:\(port): \(detail)"
        case .remote(let pod, let port, let message): return "port-forward to \(pod):\(port) failed: \(message)"
        }
    }
}
