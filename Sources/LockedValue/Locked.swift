import Synchronization

/// A value shared by reference between threads and tasks (a libcurl thread and a task, a test and
/// its server's handler): a `Mutex` in a class. A class that owns its state stores a `Mutex` itself.
public final class Locked<Value>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: sending Value) {
        mutex = Mutex(value)
    }

    public func withLock<Result, Failure: Error>(
        _ body: (inout sending Value) throws(Failure) -> sending Result
    ) throws(Failure) -> sending Result {
        try mutex.withLock(body)
    }
}

extension Locked where Value: Sendable {
    public var current: Value { withLock { $0 } }
}
