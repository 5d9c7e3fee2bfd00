import Foundation
import Logging

/// One line of a container's log.
public struct LogLine: Sendable, Equatable {
    public var timestamp: String
    public var text: String
}

/// Follows one container's log across cut streams and container restarts, without duplicated or lost
/// lines: every request asks for timestamps, resumes with sinceTime of the last line, and drops lines
/// already delivered. When the container restarted, the rest of the dead instance is read with
/// `previous=true` before following the new one. Transient failures retry with back-off and are
/// reported once per outage (`onHealth`, the logger); permanent ones (an untrusted certificate, 401
/// after a credential refresh, 403, 404, a bad request) end the stream with the client's error.
public struct LogFollower: Sendable {
    public let client: KubeClient
    public var namespace: String
    public var pod: String
    public var container: String?
    public var retryDelay: Duration = .milliseconds(300)
    /// The cap of the back-off after failed requests.
    public var maximumRetryDelay: Duration = .seconds(5)
    /// How long to wait for the pod status to show a restart after a container instance's log ended.
    public var statusLagLimit: Duration = .seconds(5)
    /// Only lines newer than this many seconds (`--since`), until the first line arrives.
    public var sinceSeconds: Int?
    /// Only the last lines of the current instance (`--tail`), until the first line arrives.
    public var tailLines: Int?
    /// Why no log comes yet, once the container has been waiting to start for a while.
    public var onWaiting: (@Sendable (String) -> Void)?
    /// Told when the log stream loses its server and when it has it back.
    public var onHealth: (@Sendable (StreamHealth) -> Void)?
    public var logger = Logger(label: "devloop.logs")

    public init(client: KubeClient, namespace: String, pod: String, container: String? = nil) {
        self.client = client
        self.namespace = namespace
        self.pod = pod
        self.container = container
    }

    /// How many lines wait for a reader that does not read before the follower stops reading the
    /// stream (and libcurl pauses it, and the server's writes back up).
    static let bufferedLines = 256

    public func lines() -> AsyncThrowingStream<LogLine, Error> {
        BoundedBuffer.stream(high: Self.bufferedLines, low: Self.bufferedLines / 2) { output in
            try await start { try await output.send($0) }
        }
    }

    private var podPath: String { "/api/v1/namespaces/\(namespace)/pods/\(pod)" }

    /// Resolves the container and its restart count, retrying transient failures, then follows.
    private func start(emit: (LogLine) async throws -> Void) async throws {
        var retry = StreamRetry(
            what: "log of pod \(namespace)/\(pod)", initial: retryDelay, maximum: maximumRetryDelay, logger: logger,
            report: onHealth)
        while true {
            do {
                let resolved = try await withDefaultContainer()
                let known = try await resolved.restartCount()
                retry.connected()
                return try await resolved.follow(known: known, retry: &retry, emit: emit)
            } catch let error as KubeClientError where error.statusCode == 404 {
                throw error
            } catch {
                try await retry.recover(from: error)
            }
        }
    }

    private func follow(known start: Int?, retry: inout StreamRetry, emit: (LogLine) async throws -> Void) async throws
    {
        var cursor = LogCursor()
        var waiting = ContainerWait(report: onWaiting)
        var known = start
        while true {
            try Task.checkCancellation()
            var instanceEnded = false
            var failure: (any Error)?
            do {
                let stream = try await open(follow: true, previous: false, after: cursor.last)
                retry.connected()
                // The request may have reached an instance newer than the one followed so far: then the
                // old instance's tail (previous=true) must come first, before any line of this stream.
                let now = try await restartCount()
                if let now, let old = known, now > old {
                    try? await consume(try await open(follow: false, previous: true, after: cursor.last), &cursor, emit)
                    known = now
                    continue
                }
                known = known ?? now
                try await consume(stream, &cursor, emit)
                // A follow stream that ends cleanly ends with its container instance; a cut one throws.
                instanceEnded = true
            } catch let error as KubeClientError where error.statusCode == 404 {
                throw error
            } catch let error as KubeClientError where error.statusCode == 400 {
                // Only a container waiting to (re)start is worth waiting for.
                try waiting.retry(after: error)
            } catch {
                if error is CancellationError || StreamRetry.isPermanent(error) { throw error }
                failure = error  // a cut stream or a server away: resume below, after the back-off
            }
            if instanceEnded, await podCompleted() { return }
            if let now = await restarted(since: known, wait: instanceEnded) {
                try? await consume(try await open(follow: false, previous: true, after: cursor.last), &cursor, emit)
                known = now
                continue
            }
            if let failure {
                try await retry.recover(from: failure)
            } else {
                try await Task.sleep(for: retryDelay)
            }
        }
    }

    /// The restart count once it exceeds `known`, or nil. After an instance ended, the pod's status
    /// can lag behind the restart: wait for it a while, or the next request would reach the new
    /// instance while the old one's last lines are still unread.
    private func restarted(since known: Int?, wait: Bool) async -> Int? {
        guard let known else { return nil }
        let deadline = ContinuousClock.now + (wait ? statusLagLimit : .zero)
        repeat {
            if let now = try? await restartCount(), now > known { return now }
            guard wait else { return nil }
            try? await Task.sleep(for: retryDelay)
        } while ContinuousClock.now < deadline
        return nil
    }

    private func open(follow: Bool, previous: Bool, after last: LogTimestamp?) async throws -> HTTPStreamResponse {
        var query: [(String, String)] = [("timestamps", "true")]
        if follow { query.append(("follow", "true")) }
        if previous { query.append(("previous", "true")) }
        if let container { query.append(("container", container)) }
        if let last {
            query.append(("sinceTime", last.sinceTime))
        } else {
            // Nothing delivered yet: asking again for the same window is still right after a cut.
            if let sinceSeconds { query.append(("sinceSeconds", String(max(1, sinceSeconds)))) }
            if follow, let tailLines { query.append(("tailLines", String(max(0, tailLines)))) }
        }
        return try await client.open("GET", podPath + "/log", query: query)
    }

    private func consume(
        _ response: HTTPStreamResponse, _ cursor: inout LogCursor, _ emit: (LogLine) async throws -> Void
    )
        async throws
    {
        cursor.beginResume()
        var splitter = LineSplitter()
        func deliver(_ raw: Data, _ cursor: inout LogCursor) async throws {
            let text = String(decoding: raw, as: UTF8.self)
            guard let space = text.firstIndex(of: " "), let timestamp = LogTimestamp(String(text[..<space])) else {
                return try await emit(LogLine(timestamp: "", text: text))  // shown, never dropped, even if unordered
            }
            if cursor.accept(timestamp) {
                try await emit(LogLine(timestamp: timestamp.text, text: String(text[text.index(after: space)...])))
            }
        }
        for try await chunk in response.body {
            for line in splitter.push(chunk) { try await deliver(line, &cursor) }
        }
        if let rest = splitter.finish() { try await deliver(rest, &cursor) }
    }

    private func restartCount() async throws -> Int? {
        let pod = try await client.get(podPath)
        let statuses = pod[path: "status", "containerStatuses"]?.array ?? []
        let status = container.flatMap { name in statuses.first { $0["name"]?.string == name } } ?? statuses.first
        return status?["restartCount"]?.int
    }
}
