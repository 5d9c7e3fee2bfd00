import Foundation
import Logging

public struct WatchEvent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }

    public var kind: Kind
    public var object: JSONValue
}

/// List-then-watch of a collection, as client-go's reflector does: LIST, WATCH from its resourceVersion,
/// resume from the last version seen when the stream drops (cut connection, server restart, timeout),
/// LIST again when the server says that version is gone (410 at the start or an ERROR event).
/// A (re)list is reported as ADDED for every object (consumers treat ADDED as "upsert") and as DELETED,
/// with its last known state, for every object reported before that the new list no longer has.
/// Transient failures retry with back-off and are reported once per outage (`onHealth`, the logger);
/// permanent ones (an untrusted certificate, 401 after a credential refresh, 403, 404, 400) end the
/// stream with the client's error.
public struct ResourceWatcher: Sendable {
    public let client: KubeClient
    public let path: String
    public var labelSelector: String?
    public var fieldSelector: String?
    /// How long the server keeps one watch request open before we reconnect.
    public var watchTimeout = 300
    public var retryDelay: Duration = .milliseconds(250)
    public var maximumRetryDelay: Duration = .seconds(5)
    /// Told when the watch loses its server and when it has it back.
    public var onHealth: (@Sendable (StreamHealth) -> Void)?
    public var logger = Logger(label: "devloop.kube.watch")

    /// `path` is a collection, e.g. /api/v1/namespaces/dev/pods.
    public init(client: KubeClient, path: String, labelSelector: String? = nil, fieldSelector: String? = nil) {
        self.client = client
        self.path = path
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
    }

    /// How many events wait for a reader that does not read before the watch stops reading.
    static let bufferedEvents = 256

    public func events() -> AsyncThrowingStream<WatchEvent, Error> {
        BoundedBuffer.stream(high: Self.bufferedEvents, low: Self.bufferedEvents / 2) { output in
            try await run { try await output.send($0) }
        }
    }

    private var selectors: [(String, String)] {
        var query: [(String, String)] = []
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        return query
    }

    private func run(emit: (WatchEvent) async throws -> Void) async throws {
        var resourceVersion: String?
        var retry = StreamRetry(
            what: "watch of \(path)", initial: retryDelay, maximum: maximumRetryDelay, logger: logger,
            report: onHealth)
        var known = KnownObjects()
        while true {
            try Task.checkCancellation()
            do {
                if resourceVersion == nil {
                    let list = try await client.get(path, query: selectors)
                    retry.connected()
                    let items = list["items"]?.array ?? []
                    let events =
                        known.missing(from: items).map { WatchEvent(kind: .deleted, object: $0) }
                        + items.map { WatchEvent(kind: .added, object: $0) }
                    for event in events {
                        known.record(event)
                        try await emit(event)
                    }
                    resourceVersion = list[path: "metadata", "resourceVersion"]?.string ?? ""
                }
                let outcome = try await watch(from: resourceVersion ?? "") {
                    known.record($0)
                    try await emit($0)
                } seen: {
                    resourceVersion = $0
                } opened: {
                    retry.connected()
                }
                if outcome == .expired { resourceVersion = nil }
            } catch let error as KubeClientError where error.statusCode == 410 {
                resourceVersion = nil
            } catch {
                // Dropped or refused connection (server restarting): wait, then resume from the last version.
                try await retry.recover(from: error)
            }
        }
    }

    private enum Outcome { case ended, expired }

    private func watch(
        from resourceVersion: String, emit: (WatchEvent) async throws -> Void, seen: (String) -> Void,
        opened: () -> Void
    ) async throws -> Outcome {
        let query =
            selectors + [
                ("watch", "1"), ("resourceVersion", resourceVersion), ("allowWatchBookmarks", "true"),
                ("timeoutSeconds", String(watchTimeout)),
            ]
        let response = try await client.open("GET", path, query: query)
        opened()
        var lines = LineSplitter()
        for try await chunk in response.body {
            for line in lines.push(chunk) where !line.isEmpty {
                guard let event = try? JSONValue.decode(line) else {
                    throw KubeClientError.notKubernetesJSON(
                        status: response.status, request: "GET \(path) (watch)",
                        excerpt: APIStatusError.summary(of: line))
                }
                let object = event["object"] ?? .null
                let type = event["type"]?.string ?? ""
                if type == "ERROR" {
                    if object["code"]?.int == 410 { return .expired }
                    throw KubeClientError.api(
                        APIStatusError(
                            code: object["code"]?.int ?? 500, body: try object.encoded(), method: "GET", path: path))
                }
                if let version = object[path: "metadata", "resourceVersion"]?.string { seen(version) }
                if let kind = WatchEvent.Kind(rawValue: type) { try await emit(WatchEvent(kind: kind, object: object)) }
            }
        }
        return .ended
    }
}
