import Logging

/// What a long-lived stream (a watch, a log follow) says about its connection: once when an outage
/// starts, with the first error, and once when a request is answered again. Never once per retry.
public enum StreamHealth: Sendable {
    case interrupted(any Error)
    case resumed
}

/// Exponential back-off with jitter, capped: each wait is a random point in the upper half of the
/// current step, so that clients cut off together do not come back together.
struct RetryBackoff: Sendable {
    let initial: Duration
    let maximum: Duration
    private var step: Duration

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        step = initial
    }

    mutating func next() -> Duration {
        let wait = step * Double.random(in: 0.5...1)
        step = min(step * 2, maximum)
        return wait
    }

    mutating func reset() { step = initial }
}

extension KubeClientError {
    /// Whether retrying cannot help: the request itself or the user's rights are wrong. 401 counts
    /// as permanent because the client has already refreshed the credentials once.
    var isPermanent: Bool {
        switch self {
        case .api(let status):
            return !(status.code == 408 || status.code == 410 || status.code == 429 || status.code >= 500)
        case .protocolViolation: return false
        case .credentialPlugin, .upgradeRefused, .execFailed, .execTimedOut, .execOutputTooLarge, .invalidPath,
            .notKubernetesJSON:
            return true
        }
    }
}

/// The retry policy of the long-lived streams: permanent errors end the stream, transient ones
/// (refused or reset connections, 5xx, 429, timeouts, cut streams) wait with back-off and are
/// reported once per outage, to the logger and to `report`.
struct StreamRetry: Sendable {
    let what: String
    let logger: Logger
    let report: (@Sendable (StreamHealth) -> Void)?
    private var backoff: RetryBackoff
    private var down = false

    init(
        what: String, initial: Duration, maximum: Duration, logger: Logger,
        report: (@Sendable (StreamHealth) -> Void)?
    ) {
        self.what = what
        self.logger = logger
        self.report = report
        backoff = RetryBackoff(initial: initial, maximum: maximum)
    }

    static func isPermanent(_ error: any Error) -> Bool {
        if let error = error as? KubeClientError { return error.isPermanent }
        if let error = error as? CurlError { return error.isPermanent }
        return false
    }

    /// Rethrows a permanent error; for a transient one, reports the outage if it is new and waits.
    mutating func recover(from error: any Error) async throws {
        if error is CancellationError || Self.isPermanent(error) { throw error }
        // A request cut short because its reader went away is no outage.
        try Task.checkCancellation()
        if !down {
            down = true
            logger.warning("\(what) interrupted, retrying: \(error)")
            report?(.interrupted(error))
        }
        try await Task.sleep(for: backoff.next())
    }

    /// The server answered a request: an outage is over.
    mutating func connected() {
        backoff.reset()
        guard down else { return }
        down = false
        logger.info("\(what) resumed")
        report?(.resumed)
    }
}
