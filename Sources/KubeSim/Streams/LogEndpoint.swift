import Foundation

/// `pods/log`: plain text from the runtime's CRI log lines, with follow, timestamps, sinceTime,
/// sinceSeconds, tailLines, previous and container.
extension PodStreams {
    func logs(namespace: String, name: String, request: HTTPRequest) async throws -> HTTPResponse {
        let (pod, container) = try await target(
            namespace: namespace, name: name, container: request.parameter("container"), needsRunning: false)
        let previous = request.flag("previous")
        let follow = request.flag("follow")
        let timestamps = request.flag("timestamps")
        let tail = try request.parameter("tailLines").map { text -> Int in
            guard let value = Int(text), value >= 0 else { throw APIError.badRequest("invalid tailLines: \(text)") }
            return value
        }
        var since: Date?
        if let text = request.parameter("sinceSeconds") {
            guard let seconds = Int(text), seconds > 0 else {
                throw APIError.badRequest("sinceSeconds: Invalid value: \(text): must be greater than 0")
            }
            since = Date().addingTimeInterval(-Double(seconds))
        } else if let text = request.parameter("sinceTime") {
            guard let date = Timestamps.parse(text) else { throw APIError.badRequest("invalid sinceTime: \(text)") }
            since = date
        }
        if !previous { try await checkStarted(pod, container) }
        let existing: [ContainerLogLine]
        let live: AsyncStream<ContainerLogLine>?
        do {
            existing = await Self.collect(
                try runtime.logLines(uid: pod.uid, container: container, previous: previous, follow: false))
            live =
                follow
                ? try runtime.logLines(uid: pod.uid, container: container, previous: previous, follow: true) : nil
        } catch {
            if previous {
                throw APIError.badRequest("previous terminated container \"\(container)\" in pod \"\(name)\" not found")
            }
            throw APIError.badRequest(
                "container \"\(container)\" in pod \"\(name)\" is waiting to start: ContainerCreating")
        }
        let wanted = existing.filter { since == nil || $0.date >= since! }
        let shown = tail.map { Array(wanted.suffix($0)) } ?? wanted
        @Sendable func render(_ line: ContainerLogLine) -> Data {
            Data(((timestamps ? line.timestamp + " " : "") + line.text + "\n").utf8)
        }
        guard let live else {
            return HTTPResponse(
                status: .ok, contentType: "text/plain", body: .full(shown.reduce(into: Data()) { $0 += render($1) }))
        }
        // Pulled line by line as the connection takes them: a reader that stops reading stops the follower.
        let pump = LogPump(shown: shown, live: live, skip: existing.count, since: since, render: render)
        return HTTPResponse(status: .ok, contentType: "text/plain", body: .stream(AsyncStream { await pump.next() }))
    }

    /// The kubelet answers 400 while the container has not started yet.
    private func checkStarted(_ object: JSON, _ container: String) async throws {
        let name = object.name
        let pod = await kubelet.status(uid: object.uid)
        let status = ((pod?.containers ?? []) + (pod?.initContainers ?? [])).first { $0.name == container }
        guard let status else {
            throw APIError.badRequest(
                "container \"\(container)\" in pod \"\(name)\" is waiting to start: ContainerCreating")
        }
        if case .waiting(let reason, _) = status.state, status.restartCount == 0 {
            throw APIError.badRequest(
                "container \"\(container)\" in pod \"\(name)\" is waiting to start: \(reason)")
        }
    }

    private static func collect(_ stream: AsyncStream<ContainerLogLine>) async -> [ContainerLogLine] {
        var lines: [ContainerLogLine] = []
        for await line in stream { lines.append(line) }
        return lines
    }
}

/// The chunks of a follow response: the lines chosen from the file so far, then the follower's lines
/// past those. Called by one writer at a time.
private final class LogPump: @unchecked Sendable {
    private var shown: ArraySlice<ContainerLogLine>
    private var live: AsyncStream<ContainerLogLine>.Iterator
    private var skip: Int
    private let since: Date?
    private let render: @Sendable (ContainerLogLine) -> Data

    init(
        shown: [ContainerLogLine], live: AsyncStream<ContainerLogLine>, skip: Int, since: Date?,
        render: @escaping @Sendable (ContainerLogLine) -> Data
    ) {
        self.shown = shown[...]
        self.live = live.makeAsyncIterator()
        self.skip = skip
        self.since = since
        self.render = render
    }

    func next() async -> Data? {
        if let line = shown.popFirst() { return render(line) }
        while let line = await live.next() {
            if skip > 0 {
                skip -= 1
                continue
            }
            if let since, line.date < since { continue }
            return render(line)
        }
        return nil
    }
}
