import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// One request as the API server received it, before authentication or routing.
public struct RecordedRequest: Sendable, Equatable, CustomStringConvertible {
    public var method: String
    /// The URI's path, still percent-encoded.
    public var path: String
    /// The raw query string ("" without one).
    public var query: String
    public var userAgent: String?
    /// `metadata.name` and `metadata.namespace` of a JSON body (what a POST to a collection creates).
    public var objectName: String?
    public var objectNamespace: String?

    public init(
        method: String, path: String, query: String, userAgent: String?, objectName: String? = nil,
        objectNamespace: String? = nil
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.userAgent = userAgent
        self.objectName = objectName
        self.objectNamespace = objectNamespace
    }

    public var description: String {
        let object = objectName.map { " {\(objectNamespace.map { $0 + "/" } ?? "")\($0)}" } ?? ""
        return "\(method) \(path)\(query.isEmpty ? "" : "?" + query)\(object) (\(userAgent ?? "no user agent"))"
    }
}

/// Every request the API server receives, plain and upgraded alike, once recording is on (it is off
/// until a test asks): the tests' witness of what a client sent. A request is recorded where it is
/// answered: by the HTTP handler, or by the upgrade it was granted (a refused upgrade is answered,
/// and recorded, by the HTTP handler). Bounded: past `limit` requests
/// only the count of the ones left out grows.
public final class RequestRecorder: Sendable {
    public static let limit = 100_000

    private struct State {
        var recording = false
        var requests: [RecordedRequest] = []
        var dropped = 0
    }
    private let state = Mutex(State())

    init() {}

    /// Starts recording afresh.
    public func start() {
        state.withLock { $0 = State(recording: true) }
    }

    public func stop() {
        state.withLock { $0.recording = false }
    }

    public var requests: [RecordedRequest] { state.withLock { $0.requests } }

    /// Requests received past `limit`, not kept.
    public var dropped: Int { state.withLock { $0.dropped } }

    func record(_ head: HTTPRequestHead, body: ByteBuffer? = nil) {
        guard state.withLock({ $0.recording }) else { return }
        let metadata = body.flatMap { body in
            (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])?["metadata"]
                as? [String: Any]
        }
        state.withLock { state in
            guard state.recording else { return }
            guard state.requests.count < Self.limit else {
                state.dropped += 1
                return
            }
            let (path, query) =
                head.uri.firstIndex(of: "?").map { (String(head.uri[..<$0]), String(head.uri[$0...].dropFirst())) }
                ?? (head.uri, "")
            state.requests.append(
                RecordedRequest(
                    method: head.method.rawValue, path: path, query: query,
                    userAgent: head.headers.first(name: "User-Agent"), objectName: metadata?["name"] as? String,
                    objectNamespace: metadata?["namespace"] as? String))
        }
    }
}
