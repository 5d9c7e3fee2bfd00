import Logging
import Synchronization

/// A swift-log handler that keeps every message, so a test can count the warnings a run gave.
final class LogRecorder: Sendable {
    private let messages = Mutex<[(Logger.Level, String)]>([])

    func logger(_ label: String = "test") -> Logger {
        var logger = Logger(label: label) { _ in Handler(recorder: self) }
        logger.logLevel = .debug
        return logger
    }

    func record(_ level: Logger.Level, _ message: String) { messages.withLock { $0.append((level, message)) } }

    /// Every message, with its level.
    var all: [String] { messages.withLock { $0.map { "\($0.0): \($0.1)" } } }

    /// The messages at `.warning` or above.
    var warnings: [String] { messages.withLock { $0.filter { $0.0 >= .warning }.map(\.1) } }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            recorder.record(event.level, "\(event.message)")
        }
    }
}
