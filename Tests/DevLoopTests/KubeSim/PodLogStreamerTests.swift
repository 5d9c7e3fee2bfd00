import DevLoop
import Foundation
import Testing

/// `PodLogStreamer` against a kubesim: every container of every pod of a selector, across a container
/// restart and a pod replacement, no line twice, in order per container.
@Suite struct PodLogStreamerTests {
    /// `app` prints a start token and three numbered lines, then exits (the kubelet restarts it);
    /// `side` prints one line and stays.
    static let manifest = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: logs
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: counter
          namespace: logs
        spec:
          replicas: 1
          selector:
            matchLabels: {app: counter}
          template:
            metadata:
              labels: {app: counter}
            spec:
              containers:
              - name: app
                image: devloop/test
                command: ["sh", "-c", "echo start $(cat /proc/sys/kernel/random/uuid); for i in 1 2 3; do echo line $i; sleep 0.2; done"]
              - name: side
                image: devloop/test
                command: ["sh", "-c", "echo side up; exec sleep 3600"]
        """

    /// The groups of one `app` container's lines: each starts with its instance's start token.
    static func instances(_ records: [LogRecord]) -> [[String]] {
        var groups: [[String]] = []
        for record in records {
            if record.text.hasPrefix("start ") {
                groups.append([record.text])
            } else if groups.isEmpty {
                groups.append([record.text])  // a line before any start: shows up as a bad group below
            } else {
                groups[groups.count - 1].append(record.text)
            }
        }
        return groups
    }

    static func complete(_ group: [String]) -> Bool {
        group.count == 4 && group.dropFirst() == ["line 1", "line 2", "line 3"]
    }

    @Test(.timeLimit(.minutes(2))) func followsRestartsAndReplacementWithoutDuplicates() async throws {
        try await KubeSimFixture.run { sim in
            try await sim.apply(Self.manifest)
            let streamer = PodLogStreamer(client: sim.client, namespace: "logs", selector: "app=counter")
            var records: [LogRecord] = []
            var deletedPod: String?
            let deadline = ContinuousClock.now + .seconds(90)
            let stream = streamer.records()
            for try await record in stream {
                records.append(record)
                let byPod = Dictionary(grouping: records.filter { $0.container == "app" }, by: \.pod)
                if deletedPod == nil,
                    let (pod, lines) = byPod.first(where: { Self.instances($0.value).filter(Self.complete).count >= 2 })
                {
                    _ = lines
                    deletedPod = pod
                    try await sim.client.delete("/api/v1/namespaces/logs/pods/\(pod)")
                }
                if let deletedPod,
                    byPod.contains(where: {
                        $0.key != deletedPod && Self.instances($0.value).contains(where: Self.complete)
                    }),
                    records.contains(where: { $0.pod != deletedPod && $0.container == "side" })
                {
                    break
                }
                if ContinuousClock.now > deadline {
                    Issue.record("timed out; records so far: \(records)")
                    break
                }
            }
            let old = try #require(deletedPod)
            let pods = Set(records.map(\.pod))
            #expect(pods.count == 2, "\(pods)")
            #expect(
                Set(records.map { "\($0.pod)/\($0.container)/\($0.timestamp)/\($0.text)" }).count == records.count,
                "a line came twice")
            for pod in pods {
                let app = records.filter { $0.pod == pod && $0.container == "app" }
                let groups = Self.instances(app)
                // Every instance whole and in order; only the last may still be under way (or cut by the deletion).
                for group in groups.dropLast() { #expect(Self.complete(group), "\(pod): \(groups)") }
                if let last = groups.last {
                    #expect(
                        last.first?.hasPrefix("start ") == true && Self.complete(last) || last.count < 4, "\(groups)")
                }
                #expect(Set(groups.compactMap(\.first)).count == groups.count, "an instance came twice: \(groups)")
                #expect(groups.filter(Self.complete).count >= (pod == old ? 2 : 1), "\(pod): \(groups)")
                #expect(records.filter { $0.pod == pod && $0.container == "side" }.map(\.text) == ["side up"])
                #expect(app.allSatisfy { !$0.timestamp.isEmpty })
            }
            let plain = LogRecordFormatter(colour: false).format(records[0])
            #expect(
                plain.hasPrefix(
                    LogRecordFormatter.shortName(pod: records[0].pod, container: records[0].container) + " | "))
        }
    }
}

@Suite struct LogRecordFormatterTests {
    @Test func prefixesAShortNameInAStableColour() {
        let record = LogRecord(
            pod: "web-5d8c9f7b6-x7k2p", container: "app", timestamp: "2026-01-01T10:00:00Z", text: "hi")
        #expect(LogRecordFormatter.shortName(pod: record.pod, container: "app") == "web-x7k2p/app")
        #expect(LogRecordFormatter.shortName(pod: "db-0", container: "pg") == "db-0/pg")
        #expect(LogRecordFormatter(colour: false).format(record) == "web-x7k2p/app | hi")
        #expect(
            LogRecordFormatter(colour: false, timestamps: true).format(record)
                == "web-x7k2p/app | 2026-01-01T10:00:00Z hi")
        let coloured = LogRecordFormatter(colour: true).format(record)
        #expect(coloured.hasPrefix("\u{1B}[") && coloured.hasSuffix("\u{1B}[0m | hi"))
        #expect(coloured == LogRecordFormatter(colour: true).format(record))
        // Different containers of one pod get different colours here (a fixed hash: the same in every run).
        let other = LogRecordFormatter(colour: true).format(
            LogRecord(pod: record.pod, container: "side", timestamp: "", text: "hi"))
        #expect(other.prefix(5) != coloured.prefix(5))
    }

    @Test func noColourWithoutATerminalOrWithNoColor() {
        #expect(LogRecordFormatter.wantsColour(isTerminal: true, environment: [:]))
        #expect(!LogRecordFormatter.wantsColour(isTerminal: false, environment: [:]))
        #expect(!LogRecordFormatter.wantsColour(isTerminal: true, environment: ["NO_COLOR": "1"]))
        #expect(LogRecordFormatter.wantsColour(isTerminal: true, environment: ["NO_COLOR": ""]))
    }
}
