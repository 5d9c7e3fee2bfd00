import Foundation
import Testing

@testable import KubeSim

/// A StatefulSet's `updateStrategy` as its controller honours it, judged by the real kubectl: a
/// partition updates only the ordinals at or above it (the others stay at, and are recreated from, the
/// current revision), `OnDelete` replaces no pod until one is deleted, and `rollout status`/`history`
/// answer as against a cluster.
@Suite(.serialized) struct StatefulSetUpdateStrategyTests {
    static let manifest = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: sts}
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: web, namespace: sts}
        spec:
          serviceName: web
          replicas: 3
          selector: {matchLabels: {app: web}}
          updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}
          template:
            metadata: {labels: {app: web}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - {name: web, image: busybox, command: [sleep, "3600"]}
        """

    @Test func partitionAndOnDeleteUpdateOnlyWhatTheySay() async throws {
        try await withKubeSimExecutable("sts-strategy") { kubectl, directory in
            let file = directory.appendingPathComponent("sts.yaml")
            try Data(Self.manifest.utf8).write(to: file)
            #expect(try await kubectl.run(["apply", "-f", file.path]).status == 0)
            let first = try await kubectl.run(["rollout", "status", "sts/web", "-n", "sts", "--timeout=90s"])
            #expect(first.stdout.contains("partitioned roll out complete: 3 new pods have been updated"), "\(first)")
            let initial = try await status(kubectl)
            let all = try await kubectl.run(["get", "all", "-n", "sts", "-o", "name"])
            #expect(all.stdout.contains("statefulset.apps/web\n"), "category all: \(all.stdout)")

            // A template change under partition 2 replaces web-2 only.
            let patch = #"{"spec":{"template":{"metadata":{"annotations":{"step":"two"}}}}}"#
            #expect(try await kubectl.run(["patch", "sts/web", "-n", "sts", "-p", patch]).status == 0)
            let partitioned = try await kubectl.run(["rollout", "status", "sts/web", "-n", "sts", "--timeout=90s"])
            #expect(partitioned.stdout.contains("partitioned roll out complete: 1 new pods have been updated"))
            let rolled = try await status(kubectl)
            #expect(rolled.update != initial.update)
            #expect(rolled.current == initial.update, "the current revision stays while the partition holds")
            #expect(rolled.updated == 1 && rolled.currentReplicas == 2, "\(rolled)")
            #expect(try await revision(kubectl, "web-2") == rolled.update)
            #expect(try await revision(kubectl, "web-1") == initial.update)
            // A pod below the partition comes back at the current revision, with its template.
            let uid = try await kubectl.run(["get", "pod", "web-0", "-n", "sts", "-o", "jsonpath={.metadata.uid}"])
            // kubectl waits for the DELETED event (StatefulSetDeleteTests: it no longer can miss it).
            #expect(try await kubectl.run(["delete", "pod", "web-0", "-n", "sts", "--timeout=120s"]).status == 0)
            try await eventually("web-0 is back", timeout: .seconds(90)) {
                let now = try await kubectl.run([
                    "get", "pod", "web-0", "-n", "sts", "-o", "jsonpath={.metadata.uid} {.status.phase}",
                ])
                return now.stdout.hasSuffix(" Running") && !now.stdout.hasPrefix(uid.stdout)
            }
            #expect(try await revision(kubectl, "web-0") == initial.update)
            let annotation = try await kubectl.run([
                "get", "pod", "web-0", "-n", "sts", "-o", "jsonpath={.metadata.annotations.step}",
            ])
            #expect(annotation.stdout == "", "recreated from the current revision's template")
            let history = try await kubectl.run(["rollout", "history", "sts/web", "-n", "sts"])
            #expect(history.status == 0, "\(history.stderr)")
            #expect(
                history.stdout.contains("REVISION") && history.stdout.contains("\n1 ")
                    && history.stdout.contains("\n2 "))
            let revisions = try await kubectl.run(["get", "controllerrevisions", "-n", "sts", "--no-headers"])
            #expect(revisions.stdout.contains("statefulset.apps/web   2"), "\(revisions.stdout)")

            // OnDelete: a template change replaces nothing; a deleted pod returns at the update revision.
            let onDelete =
                #"{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null},"#
                + #""template":{"metadata":{"annotations":{"step":"three"}}}}}"#
            #expect(try await kubectl.run(["patch", "sts/web", "-n", "sts", "-p", onDelete]).status == 0)
            var third = rolled
            try await eventually("the controller saw the third template") {
                third = try await status(kubectl)
                return third.update != rolled.update && third.observed
            }
            #expect(third.updated == 0 && third.current == rolled.current, "\(third)")
            for pod in ["web-0", "web-1", "web-2"] {
                #expect(try await revision(kubectl, pod) != third.update, "\(pod) was replaced under OnDelete")
            }
            let refused = try await kubectl.run(["rollout", "status", "sts/web", "-n", "sts", "--timeout=10s"])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("rollout status is only available for RollingUpdate strategy type"))
            #expect(try await kubectl.run(["delete", "pod", "web-1", "-n", "sts", "--timeout=120s"]).status == 0)
            try await eventually("web-1 returns at the update revision", timeout: .seconds(90)) {
                try await revision(kubectl, "web-1") == third.update
            }
            try await eventually("updatedReplicas counts it") { try await status(kubectl).updated == 1 }
        }
    }

    struct Status: CustomStringConvertible {
        var current: String, update: String, updated: Int, currentReplicas: Int, observed: Bool
        var description: String {
            "current \(current) update \(update) updated \(updated) at current \(currentReplicas)"
        }
    }

    private func status(_ kubectl: Kubectl) async throws -> Status {
        let result = try await kubectl.run(["get", "sts", "web", "-n", "sts", "-o", "json"])
        let object = try JSON.parse(Data(result.stdout.utf8))
        return Status(
            current: object[path: ["status", "currentRevision"]]?.stringValue ?? "",
            update: object[path: ["status", "updateRevision"]]?.stringValue ?? "",
            updated: object[path: ["status", "updatedReplicas"]]?.intValue ?? -1,
            currentReplicas: object[path: ["status", "currentReplicas"]]?.intValue ?? -1,
            observed: object[path: ["status", "observedGeneration"]] == object[path: ["metadata", "generation"]])
    }

    private func revision(_ kubectl: Kubectl, _ pod: String) async throws -> String {
        try await kubectl.run([
            "get", "pod", pod, "-n", "sts", "-o", "jsonpath={.metadata.labels.controller-revision-hash}",
        ]).stdout
    }
}
