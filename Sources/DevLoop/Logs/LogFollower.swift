import Foundation

/// One line of a container's log.
public struct LogLine: Sendable, Equatable {
    public var timestamp: String
    public var text: String
}

/// Follows one container's log across cut streams and container restarts, without duplicated or lost
/// lines: every request asks for timestamps, resumes with sinceTime of the last line, and drops lines
/// already delivered. When the container restarted, the rest of the dead instance is read with
/// `previous=true` before following the new one.
public struct LogFollower: Sendable {
    public let client: KubeClient
    public var namespace: String
    public var pod: String
    public var container: String?
    public var retryDelay: Duration = .milliseconds(300)

    public init(client: KubeClient, namespace: String, pod: String, container: String? = nil) {
        self.client = client
        self.namespace = namespace
        self.pod = pod
        self.container = container
    }

    public func lines() -> AsyncThrowingStream<LogLine, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await follow { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error is CancellationError ? nil : error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private var podPath: String { "/api/v1/namespaces/\(namespace)/pods/\(pod)" }

    private func follow(emit: (LogLine) -> Void) async throws {
        var cursor = LogCursor()
        var restarts = try await restartCount()
        while true {
            try Task.checkCancellation()
            do {
                try await read(follow: true, previous: false, cursor: &cursor, emit: emit)
            } catch let error as KubeClientError where error.statusCode == 404 {
                throw error
            } catch let error as KubeClientError where error.statusCode == 400 {
                // The container is waiting to (re)start: nothing to read yet.
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // A cut stream: resume below.
            }
            let now = try? await restartCount()
            if let now, let known = restarts, now > known {
                // The instance we followed died: take what it wrote after our last line, then the new one.
                try? await read(follow: false, previous: true, cursor: &cursor, emit: emit)
                restarts = now
                cursor = LogCursor(continuingAfter: cursor)
                continue
            }
            if restarts == nil { restarts = now }
            try await Task.sleep(for: retryDelay)
        }
    }

    private func read(follow: Bool, previous: Bool, cursor: inout LogCursor, emit: (LogLine) -> Void) async throws {
        var query: [(String, String)] = [("timestamps", "true")]
        if follow { query.append(("follow", "true")) }
        if previous { query.append(("previous", "true")) }
        if let container { query.append(("container", container)) }
        if let last = cursor.last { query.append(("sinceTime", last.sinceTime)) }
        cursor.beginResume()
        let response = try await client.open("GET", podPath + "/log", query: query)
        var splitter = LineSplitter()
        func deliver(_ raw: Data) {
            let text = String(decoding: raw, as: UTF8.self)
            guard let space = text.firstIndex(of: " "), let timestamp = LogTimestamp(String(text[..<space])) else {
                return
            }
            if cursor.accept(timestamp) {
                emit(LogLine(timestamp: timestamp.text, text: String(text[text.index(after: space)...])))
            }
        }
        for try await chunk in response.body {
            for line in splitter.push(chunk) { deliver(line) }
        }
        if let rest = splitter.finish() { deliver(rest) }
    }

    private func restartCount() async throws -> Int? {
        let pod = try await client.get(podPath)
        let statuses = pod[path: "status", "containerStatuses"]?.array ?? []
        let status = container.flatMap { name in statuses.first { $0["name"]?.string == name } } ?? statuses.first
        return status?["restartCount"]?.int
    }
}

extension LogCursor {
    /// A new container instance: its lines are all new, but keep the position so that sinceTime still
    /// skips what the old instance wrote.
    init(continuingAfter previous: LogCursor) {
        self = previous
        beginResume()
    }
}
