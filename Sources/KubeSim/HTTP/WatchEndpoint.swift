import Foundation

/// `?watch=1`: a chunked stream of JSON lines, from a resourceVersion (or the current state), with
/// selectors applied as kube-apiserver's watch cache does, bookmarks, and the server-side timeout.
extension APIRouter {
    func watch(_ path: ResourcePath, _ request: HTTPRequest) async throws -> HTTPResponse {
        let resource = path.resource
        let labels = try LabelSelector(parsing: request.parameter("labelSelector") ?? "")
        let fields = try FieldSelector(parsing: request.parameter("fieldSelector") ?? "", resource: resource)
        let version = request.parameter("resourceVersion") ?? ""
        let sendInitialEvents = request.flag("sendInitialEvents")
        let start: ObjectStore.WatchStart
        if version.isEmpty || version == "0" || sendInitialEvents {
            start = .currentState
        } else if let number = Int64(version) {
            start = .after(number)
        } else {
            throw APIError.badRequest("resourceVersion: Invalid value: \"\(version)\": must be a number")
        }
        let timeout =
            request.parameter("timeoutSeconds").flatMap(Int.init).map { Duration.seconds($0) }
            ?? .seconds(Int.random(in: 1800...3600))
        let bookmarks = request.flag("allowWatchBookmarks")
        let table = request.wantsTable
        let store = api.store
        let (id, events) = try await store.watch(
            resource, namespace: path.namespace, from: start, initialEventsEnd: sendInitialEvents && bookmarks)
        let interval = bookmarkInterval
        let (output, continuation) = AsyncStream<Data>.makeStream()
        let pump = Task {
            for await event in events {
                guard let line = Self.line(for: event, resource: resource, labels: labels, fields: fields, table: table)
                else { continue }
                continuation.yield(line)
            }
            continuation.finish()
        }
        let timer = Task {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let next = min(deadline, ContinuousClock.now + interval)
                try? await Task.sleep(until: next)
                if Task.isCancelled { return }
                if bookmarks && ContinuousClock.now < deadline { await store.bookmark(id) }
            }
            await store.endWatch(id)
        }
        continuation.onTermination = { _ in
            timer.cancel()
            pump.cancel()
            Task { await store.endWatch(id) }
        }
        return HTTPResponse(status: .ok, contentType: "application/json", body: .stream(output))
    }

    /// The event as the watcher sees it: a change that moves an object out of the selection is a DELETED,
    /// one that moves it in an ADDED.
    static func line(
        for event: WatchEvent, resource: ResourceType, labels: LabelSelector, fields: FieldSelector, table: Bool
    ) -> Data? {
        var kind = event.kind
        var object = event.object
        switch event.kind {
        case .bookmark:
            object["kind"] = .string(resource.kind)
            object["apiVersion"] = .string(resource.apiVersion)
        case .error:
            break
        case .added, .modified, .deleted:
            let now = labels.matches(object.labels) && fields.matches(object)
            let before = event.previous.map { labels.matches($0.labels) && fields.matches($0) } ?? false
            switch (event.kind, before, now) {
            case (.added, _, true): kind = .added
            case (.modified, true, true): kind = .modified
            case (.modified, false, true): kind = .added
            case (.modified, true, false): kind = .deleted
            case (.deleted, true, _): kind = .deleted
            default: return nil
            }
            if table {
                object = TableConverter.table(resource.storageVersion, objects: [object], resourceVersion: nil)
            } else {
                object = VersionConversion.toServed(object, resource)
            }
        }
        var data = JSON.object(["type": .string(kind.rawValue), "object": object]).encoded()
        data.append(0x0A)
        return data
    }
}
