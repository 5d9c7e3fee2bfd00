import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A non-blocking pipe that another thread signals to end a poll() early: the I/O threads sleep in
/// poll() with no timeout and wake only for their socket or for this. (Swift's Glibc module has no
/// eventfd.)
final class EventWakeup: @unchecked Sendable {
    let descriptor: Int32
    private let writeEnd: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw SPDYClientError("cannot create a wake-up pipe: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        descriptor = fds[0]
        writeEnd = fds[1]
    }

    deinit {
        Glibc.close(descriptor)
        Glibc.close(writeEnd)
    }

    func signal() {
        var byte: UInt8 = 1
        _ = Glibc.write(writeEnd, &byte, 1)
    }

    func drain() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while Glibc.read(descriptor, &bytes, 64) > 0 {}
    }
}
