import CKubeSimSys
import Foundation

/// Opens TCP connections from inside a pod's network namespace, as container runtimes serve
/// port-forward: a thread of its own enters the namespace, creates and connects the socket (which stays
/// in that namespace for life) and returns to kubesim's namespace before it ends.
struct NetworkNamespaceDialer: Sendable {
    /// `/proc/PID/ns/net` of a process in the pod's namespace.
    var namespacePath: String
    /// Names the pod in error messages.
    var podName: String

    /// A connected, blocking socket to `port` on the pod's loopback (127.0.0.1, then ::1).
    func connect(port: Int, timeout: Duration = .seconds(5)) async throws -> Int32 {
        guard (1...65535).contains(port) else {
            throw DialError(message: "invalid port \(port): must be between 1 and 65535")
        }
        let path = namespacePath
        let pod = podName
        let milliseconds = Int32(
            clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return try await onDedicatedThread("kubesim-dial") { () -> Result<Int32, DialError> in
            Result { try connectInside(namespace: path, pod: pod, port: port, timeoutMilliseconds: milliseconds) }
                .mapError { $0 as? DialError ?? DialError(message: "\($0)") }
        }.get()
    }
}

/// Nothing listens on the port inside the pod, or the pod has no network namespace any more; the
/// message reads like kubelet's (`failed to connect to localhost:5000 inside … connection refused`).
public struct DialError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

private func connectInside(namespace: String, pod: String, port: Int, timeoutMilliseconds: Int32) throws -> Int32 {
    let target = open(namespace, O_RDONLY | O_CLOEXEC)
    guard target >= 0 else {
        throw DialError(message: "pod \(pod) has no network namespace (\(namespace): \(errnoText()))")
    }
    defer { close(target) }
    let home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
    guard home >= 0 else { throw DialError(message: "cannot open kubesim's network namespace: \(errnoText())") }
    defer { close(home) }
    guard kubesim_enter_network_namespace(target) == 0 else {
        throw DialError(message: "cannot enter the network namespace of pod \(pod): \(errnoText())")
    }
    // This thread ends right after, but leave it in kubesim's namespace whatever happens.
    defer { _ = kubesim_enter_network_namespace(home) }
    var failures: [String] = []
    for family in [AF_INET, AF_INET6] {
        switch connectLoopback(family: family, port: port, timeoutMilliseconds: timeoutMilliseconds) {
        case .success(let fd): return fd
        case .failure(let reason): failures.append(reason.message)
        }
    }
    throw DialError(
        message: "failed to connect to localhost:\(port) inside the network namespace of pod \(pod): "
            + failures.joined(separator: ", "))
}

private func connectLoopback(family: Int32, port: Int, timeoutMilliseconds: Int32) -> Result<Int32, DialError> {
    let label = family == AF_INET ? "IPv4: dial tcp4 127.0.0.1:\(port)" : "IPv6: dial tcp6 [::1]:\(port)"
    let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return .failure(DialError(message: "\(label): socket: \(errnoText())")) }
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    var result: Int32
    if family == AF_INET {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    } else {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = in_port_t(UInt16(port).bigEndian)
        address.sin6_addr = in6addr_loopback
        result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
    }
    if result != 0 && errno == EINPROGRESS {
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        if poll(&poller, 1, timeoutMilliseconds) == 1 {
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            errno = code
            result = code == 0 ? 0 : -1
        } else {
            errno = ETIMEDOUT
        }
    }
    guard result == 0 else {
        let reason = DialError(message: "\(label): connect: \(errnoText())")
        close(fd)
        return .failure(reason)
    }
    _ = fcntl(fd, F_SETFL, flags)
    return .success(fd)
}

func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code)).lowercased()
}
