import Foundation
import Logging

/// One line of one container of one pod.
public struct LogRecord: Sendable, Equatable {
    public var pod: String
    public var container: String
    /// The kubelet's RFC 3339 timestamp of the line (empty if the line carried none).
    public var timestamp: String
    public var text: String

    public init(pod: String, container: String, timestamp: String, text: String) {
        self.pod = pod
        self.container = container
        self.timestamp = timestamp
        self.text = text
    }
}

/// What `devloop logs` asks for.
public struct PodLogOptions: Sendable, Equatable {
    /// Only lines newer than this (`--since 5m`), for the pods running when the stream starts.
    public var since: Duration?
    /// Only the last N lines of each container (`--tail N`), for the pods running when the stream starts.
    public var tail: Int?
    /// Whether the formatter shows each line's timestamp (records always carry it).
    public var timestamps: Bool
    /// false: print what is there and end (`--no-follow`).
    public var follow: Bool

    public init(since: Duration? = nil, tail: Int? = nil, timestamps: Bool = false, follow: Bool = true) {
        self.since = since
        self.tail = tail
        self.timestamps = timestamps
        self.follow = follow
    }

    var sinceSeconds: Int? {
        since.map { Int(($0 / .seconds(1)).rounded(.up)) }
    }
}

/// Follows every container of every pod matching a label selector, as stern does: driven by a pod
/// watch (a container is followed once its status shows it started), across container restarts
/// (`LogFollower` reads a dead instance's tail before the new one, no line twice) and pod
/// replacement (a new pod, by uid, gets followers of its own and its whole log). `since`/`tail` apply
/// to the pods present at the start; a pod that appears later is read from its first line.
public struct PodLogStreamer: Sendable {
    public let client: KubeClient
    public var namespace: String
    public var selector: String
    public var options: PodLogOptions
    public var logger = Logger(label: "devloop.logs")
    /// Told when the pod watch or a log stream loses its server and when it has it back.
    public var onHealth: (@Sendable (StreamHealth) -> Void)?
    var retryDelay: Duration = .milliseconds(300)

    public init(client: KubeClient, namespace: String, selector: String, options: PodLogOptions = PodLogOptions()) {
        self.client = client
        self.namespace = namespace
        self.selector = selector
        self.options = options
    }

    /// Records of all containers, interleaved as they arrive, in order per container. Ends with an
    /// error that no retry can cure (403, an untrusted certificate); without `follow`, once every
    /// container's current log was read.
    public func records() -> AsyncThrowingStream<LogRecord, Error> {
        // Bounded: a reader that stops reading stops the followers, and through them the log streams.
        BoundedBuffer.stream(high: LogFollower.bufferedLines, low: LogFollower.bufferedLines / 2) { output in
            if options.follow {
                try await follow(into: output)
            } else {
                try await readOnce { try await output.send($0) }
            }
        }
    }

    private var podsPath: String { "/api/v1/namespaces/\(namespace)/pods" }

    private func follow(into output: BoundedBuffer<LogRecord>) async throws {
        // The pods there now get since/tail; the watch's first list reports them again.
        let present = Set(
            (try await client.get(podsPath, query: [("labelSelector", selector)])["items"]?.array ?? []).compactMap {
                $0[path: "metadata", "uid"]?.string
            })
        var watcher = ResourceWatcher(client: client, path: podsPath, labelSelector: selector)
        watcher.logger = logger
        watcher.onHealth = onHealth
        let events = watcher.events()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var followed = Set<String>()
            for try await event in events {
                let uid = event.object[path: "metadata", "uid"]?.string ?? ""
                guard let pod = event.object[path: "metadata", "name"]?.string else { continue }
                if event.kind == .deleted {
                    // No event names this uid again; its followers end on their own (404, pod done).
                    followed = followed.filter { !$0.hasPrefix(uid + "/") }
                    continue
                }
                for container in Self.startedContainers(of: event.object)
                where followed.insert("\(uid)/\(container)").inserted {
                    let follower = makeFollower(pod: pod, container: container, initial: present.contains(uid))
                    group.addTask {
                        do {
                            for try await line in follower.lines() {
                                try await output.send(
                                    LogRecord(
                                        pod: pod, container: container, timestamp: line.timestamp, text: line.text))
                            }
                        } catch let error as KubeClientError where error.statusCode == 404 {
                            // The pod is gone and its log with it.
                        } catch {
                            // The group's body waits on the pod watch, not on its children: end the stream here.
                            output.finish(throwing: error)
                        }
                    }
                }
            }
        }
    }

    private func makeFollower(pod: String, container: String, initial: Bool) -> LogFollower {
        var follower = LogFollower(client: client, namespace: namespace, pod: pod, container: container)
        follower.logger = logger
        follower.onHealth = onHealth
        follower.retryDelay = retryDelay
        // As the session's pod watch: after an outage the logs are back within about a second and a half
        // of the API server (2.9 s median after 30 s with the 5 s cap), one request per container meanwhile.
        follower.maximumRetryDelay = .milliseconds(1500)
        if initial {
            follower.sinceSeconds = options.sinceSeconds
            follower.tailLines = options.tail
        }
        return follower
    }

    /// `--no-follow`: each started container's current log once, pods by creation then name.
    private func readOnce(emit: (LogRecord) async throws -> Void) async throws {
        let pods = (try await client.get(podsPath, query: [("labelSelector", selector)])["items"]?.array ?? [])
            .sorted {
                let a = (
                    $0[path: "metadata", "creationTimestamp"]?.string ?? "", $0[path: "metadata", "name"]?.string ?? ""
                )
                let b = (
                    $1[path: "metadata", "creationTimestamp"]?.string ?? "", $1[path: "metadata", "name"]?.string ?? ""
                )
                return a < b
            }
        for pod in pods {
            guard let name = pod[path: "metadata", "name"]?.string else { continue }
            for container in Self.startedContainers(of: pod) {
                var query: [(String, String)] = [("timestamps", "true"), ("container", container)]
                if let since = options.sinceSeconds { query.append(("sinceSeconds", String(max(1, since)))) }
                if let tail = options.tail { query.append(("tailLines", String(max(0, tail)))) }
                let body: Data
                do {
                    body = try await client.send("GET", "\(podsPath)/\(name)/log", query: query).body
                } catch let error as KubeClientError where error.statusCode == 404 {
                    continue  // deleted meanwhile
                }
                var splitter = LineSplitter()
                let lines = splitter.push(body) + (splitter.finish().map { [$0] } ?? [])
                for raw in lines {
                    let line = LogLine(kubeletLine: raw)
                    try await emit(
                        LogRecord(pod: name, container: container, timestamp: line.timestamp, text: line.text))
                }
            }
        }
    }

    /// Containers whose log exists: running, terminated, or restarted at least once, in spec order.
    static func startedContainers(of pod: JSONValue) -> [String] {
        let statuses = pod[path: "status", "containerStatuses"]?.array ?? []
        let started = Set(
            statuses.filter { status in
                status[path: "state", "running"] != nil || status[path: "state", "terminated"] != nil
                    || (status["restartCount"]?.int ?? 0) > 0
            }.compactMap { $0["name"]?.string })
        let names = (pod[path: "spec", "containers"]?.array ?? []).compactMap { $0["name"]?.string }
        return names.filter(started.contains)
    }
}

extension LogLine {
    /// A line as the kubelet sends it with timestamps=true: `TIMESTAMP TEXT`.
    init(kubeletLine raw: Data) {
        let text = String(decoding: raw, as: UTF8.self)
        if let space = text.firstIndex(of: " "), LogTimestamp(String(text[..<space])) != nil {
            self.init(timestamp: String(text[..<space]), text: String(text[text.index(after: space)...]))
        } else {
            self.init(timestamp: "", text: text)
        }
    }
}
