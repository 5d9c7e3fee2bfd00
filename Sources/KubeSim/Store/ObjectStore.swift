import Foundation

/// Every object kubesim serves, the resourceVersion counter, a bounded history of changes for watches
/// resuming from a version, and the live watchers. Persisted to one JSON file after each change.
public actor ObjectStore {
    public enum WatchStart: Sendable {
        /// Synthetic ADDED events for everything that exists, then live changes.
        case currentState
        /// Changes after this resourceVersion (410 Gone when the history no longer reaches back).
        case after(Int64)
    }

    private var objects: [ObjectKey: JSON] = [:]
    private(set) var resourceVersion: Int64 = 0
    private var history: [WatchEvent] = []
    private let historyLimit: Int
    /// Versions up to this one are no longer in the history: watching from before it is 410 Gone.
    private var compactedVersion: Int64 = 0
    private var watchers: [UUID: Watcher] = [:]
    private var changeListeners: [UUID: AsyncStream<Void>.Continuation] = [:]
    private let persistence: StorePersistence?

    private struct Watcher {
        var resource: String
        var namespace: String?
        var continuation: AsyncStream<WatchEvent>.Continuation

        func matches(_ key: ObjectKey) -> Bool {
            key.resource == resource && (namespace == nil || key.namespace == namespace)
        }
    }

    public init(persistence: StorePersistence?, historyLimit: Int = 1000) throws {
        self.persistence = persistence
        self.historyLimit = historyLimit
        if let saved = try persistence?.load() {
            resourceVersion = saved.resourceVersion
            for object in saved.objects { objects[object.key] = object.object }
        }
        compactedVersion = resourceVersion
    }

    public func get(_ key: ObjectKey) -> JSON? { objects[key] }

    /// Objects of one resource (optionally one namespace), sorted by namespace and name, and the
    /// store's current resourceVersion.
    public func list(_ resource: ResourceType, namespace: String?) -> (items: [JSON], resourceVersion: Int64) {
        let items = objects.filter { key, _ in
            key.resource == resource.qualifiedName && (namespace == nil || key.namespace == namespace)
        }
        .sorted { $0.key < $1.key }.map(\.value)
        return (items, resourceVersion)
    }

    /// Stores a new object, stamping its resourceVersion. The caller has filled uid and timestamps.
    @discardableResult
    public func insert(_ key: ObjectKey, _ object: JSON) -> JSON? {
        guard objects[key] == nil else { return nil }
        return commit(.added, key, object, previous: nil)
    }

    /// Replaces an object; nil when it does not exist.
    @discardableResult
    public func replace(_ key: ObjectKey, _ object: JSON) -> JSON? {
        guard let previous = objects[key] else { return nil }
        return commit(.modified, key, object, previous: previous)
    }

    /// Applies `change` to the current object and stores the result when it differs (no new
    /// resourceVersion for a no-op). Returns the stored object, nil when it does not exist.
    @discardableResult
    public func modify(_ key: ObjectKey, _ change: (inout JSON) throws -> Void) rethrows -> JSON? {
        guard let previous = objects[key] else { return nil }
        var object = previous
        try change(&object)
        if object == previous { return previous }
        return commit(.modified, key, object, previous: previous)
    }

    @discardableResult
    public func remove(_ key: ObjectKey) -> JSON? {
        guard let previous = objects[key] else { return nil }
        return commit(.deleted, key, previous, previous: previous)
    }

    /// Removes the object only while it is the one with this uid (a delete with a UID precondition).
    @discardableResult
    public func remove(_ key: ObjectKey, uid: String) -> JSON? {
        guard let previous = objects[key], previous.uid == uid else { return nil }
        return commit(.deleted, key, previous, previous: previous)
    }

    private func commit(_ kind: WatchEvent.Kind, _ key: ObjectKey, _ object: JSON, previous: JSON?) -> JSON {
        resourceVersion += 1
        var stamped = object
        stamped[path: ["metadata", "resourceVersion"]] = .string(String(resourceVersion))
        if kind == .deleted { objects[key] = nil } else { objects[key] = stamped }
        let event = WatchEvent(
            kind: kind, key: key, object: stamped, previous: previous, resourceVersion: resourceVersion)
        history.append(event)
        if history.count > historyLimit {
            let dropped = history.count - historyLimit
            compactedVersion = history[dropped - 1].resourceVersion
            history.removeFirst(dropped)
        }
        for watcher in watchers.values where watcher.matches(key) { watcher.continuation.yield(event) }
        for listener in changeListeners.values { listener.yield() }
        persistence?.save(resourceVersion: resourceVersion, objects: objects)
        return stamped
    }

    /// A stream of changes to one resource; throws 410 Gone when `start` is older than the history.
    public func watch(
        _ resource: ResourceType, namespace: String?, from start: WatchStart, initialEventsEnd: Bool = false
    ) throws -> (
        id: UUID, events: AsyncStream<WatchEvent>
    ) {
        let (stream, continuation) = AsyncStream<WatchEvent>.makeStream()
        let watcher = Watcher(resource: resource.qualifiedName, namespace: namespace, continuation: continuation)
        switch start {
        case .currentState:
            for (key, object) in objects.sorted(by: { $0.key < $1.key }) where watcher.matches(key) {
                continuation.yield(
                    WatchEvent(
                        kind: .added, key: key, object: object, previous: nil,
                        resourceVersion: Int64(object[path: ["metadata", "resourceVersion"]]?.intValue ?? 0)))
            }
        case .after(let version):
            if version < compactedVersion {
                throw APIError.gone("too old resource version: \(version) (\(compactedVersion))")
            }
            for event in history where event.resourceVersion > version && watcher.matches(event.key) {
                continuation.yield(event)
            }
        }
        let id = UUID()
        watchers[id] = watcher
        if initialEventsEnd { bookmark(id, initialEventsEnd: true) }
        continuation.onTermination = { _ in Task { await self.endWatch(id) } }
        return (id, stream)
    }

    /// Queues a BOOKMARK carrying the current resourceVersion behind everything already sent to the watch.
    public func bookmark(_ id: UUID, initialEventsEnd: Bool = false) {
        guard let watcher = watchers[id] else { return }
        var object: JSON = ["metadata": ["resourceVersion": .string(String(resourceVersion))]]
        if initialEventsEnd {
            object[path: ["metadata", "annotations"]] = ["k8s.io/initial-events-end": "true"]
        }
        watcher.continuation.yield(
            WatchEvent(
                kind: .bookmark, key: ObjectKey(resource: .pods, namespace: "", name: ""), object: object,
                previous: nil, resourceVersion: resourceVersion))
    }

    public func endWatch(_ id: UUID) {
        watchers.removeValue(forKey: id)?.continuation.finish()
    }

    /// Fault injection: every open watch receives an ERROR event with a 410 Status and ends, as when
    /// kube-apiserver's watch cache falls behind; clients must relist.
    public func expireWatches() {
        let status = APIError.gone("too old resource version: the watch history was compacted").status
        for (id, watcher) in watchers {
            watcher.continuation.yield(
                WatchEvent(
                    kind: .error, key: ObjectKey(resource: .pods, namespace: "", name: ""), object: status,
                    previous: nil, resourceVersion: resourceVersion))
            watcher.continuation.finish()
            watchers[id] = nil
        }
        compactedVersion = resourceVersion
        history.removeAll()
    }

    /// Fires (coalesced) after every change; controllers reconcile on it.
    public func changes() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        changeListeners[id] = continuation
        continuation.onTermination = { _ in Task { await self.removeListener(id) } }
        continuation.yield()
        return stream
    }

    private func removeListener(_ id: UUID) { changeListeners[id] = nil }

    /// Ends every watch and change stream (shutdown).
    public func closeAll() {
        for watcher in watchers.values { watcher.continuation.finish() }
        watchers.removeAll()
        for listener in changeListeners.values { listener.finish() }
        changeListeners.removeAll()
    }

    public var openWatchCount: Int { watchers.count }
}
