import Foundation
import KubeSim
import Testing

@testable import DevLoop

/// The current-pod layer: a typed pod from the API's JSON, and the tracker that turns the pod watch
/// into the current target.
@Suite(.serialized, .timeLimit(.minutes(3))) struct PodTrackerTests {
    @Test func aPodDecodesPortsStatusesAndDeletion() throws {
        let json = try JSONValue.decode(
            Data(
                """
                {"metadata": {"name": "web-1", "namespace": "dev", "uid": "u1", "creationTimestamp": "2026-01-01T00:00:00Z",
                  "deletionTimestamp": "2026-01-01T00:01:00Z",
                  "annotations": {"kubectl.kubernetes.io/default-container": "app"}},
                 "spec": {"nodeName": "n", "containers": [
                   {"name": "sidecar"},
                   {"name": "app", "ports": [{"name": "http", "containerPort": 5000}, {"containerPort": 9000}]}]},
                 "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [
                     {"name": "app", "ready": true, "restartCount": 3, "state": {"running": {}}},
                     {"name": "sidecar", "ready": false, "restartCount": 0,
                      "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
                """.utf8))
        let pod = try Pod(json: json)
        #expect(pod.ready)
        #expect(pod.deletionTimestamp != nil)
        #expect(!pod.isServing, "a terminating pod must not be acted on")
        #expect(pod.containerName(nil) == "app")
        #expect(pod.port(.name("http"), container: nil) == 5000)
        #expect(pod.port(.name("metrics"), container: nil) == nil)
        #expect(pod.status(of: "app")?.restartCount == 3)
        #expect(pod.status(of: "sidecar")?.state == .waiting(reason: "CrashLoopBackOff"))
        #expect(pod.target(container: nil) == PodTarget(namespace: "dev", name: "web-1", uid: "u1", container: "app"))
        #expect(throws: KubeClientError.self) { try Pod(json: .object([:])) }
    }

    /// A port name resolves as kubectl port-forward resolves it: the chosen container's ports first,
    /// then the other containers' (the forward reaches the pod's network namespace).
    @Test func aPortNameResolvesInTheChosenContainerFirstThenInAnyOther() throws {
        let json = try JSONValue.decode(
            Data(
                """
                {"metadata": {"name": "web-1", "uid": "u1"},
                 "spec": {"containers": [
                   {"name": "app", "ports": [{"name": "http", "containerPort": 5000}]},
                   {"name": "sidecar", "ports": [{"name": "metrics", "containerPort": 9100},
                     {"name": "http", "containerPort": 8081}, {"containerPort": 7000}]}]}}
                """.utf8))
        let pod = try Pod(json: json)
        #expect(pod.port(.name("metrics"), container: "app") == 9100)
        #expect(pod.port(.name("http"), container: "app") == 5000)
        #expect(pod.port(.name("http"), container: "sidecar") == 8081)
        #expect(pod.port(.name("grpc"), container: "app") == nil)
        #expect(pod.namedPorts == "http=5000 (app), metrics=9100 (sidecar), http=8081 (sidecar)")
    }

    /// readyTarget waits for readiness through the watch; after the pod is deleted, the tracker
    /// announces the replacement and hands out the new pod.
    @Test func theTrackerWaitsForReadinessAndFollowsAReplacement() async throws {
        try await KubeSimFixture.run { cluster in
            let tracker = PodTracker(
                client: cluster.client, namespace: "tracked", selector: "app=fixture", container: nil)
            let watch = Task { try await tracker.run() }
            defer { watch.cancel() }
            let events = await tracker.subscribe()
            let waiting = Task { try await tracker.readyTarget(within: .seconds(60)) }
            try await cluster.apply(
                """
                apiVersion: v1
                kind: Namespace
                metadata: {name: tracked}
                ---

                """
                    + FixtureProject.deployment(hostPath: nil).replacingOccurrences(
                        of: "name: fixture\n", with: "name: fixture\n  namespace: tracked\n"
                    ).replacingOccurrences(of: "httpGet: {path: /, port: 5000}", with: "tcpSocket: {port: 5000}"))
            let first = try await waiting.value
            #expect(first.namespace == "tracked")
            #expect(first.container == "app")
            #expect(!first.uid.isEmpty)

            try await cluster.server.deletePod(namespace: "tracked", name: first.name, gracePeriodSeconds: 0)
            var replaced: (PodTarget, PodTarget)?
            for await event in events {
                if case .replaced(let old, let new) = event {
                    replaced = (old, new)
                    break
                }
            }
            #expect(replaced?.0 == first)
            #expect(replaced.map { $0.1.uid != first.uid } == true)
            let next = try await tracker.readyTarget(within: .seconds(60))
            #expect(next.uid != first.uid)
        }
    }

    @Test func waitingForAPodThatNeverComesTimesOutNamingTheSelector() async throws {
        try await KubeSimFixture.run { cluster in
            let tracker = PodTracker(
                client: cluster.client, namespace: "default", selector: "app=nothing", container: nil)
            let watch = Task { try await tracker.run() }
            defer { watch.cancel() }
            let error = await #expect(throws: PodTrackerError.self) {
                try await tracker.readyTarget(within: .milliseconds(500))
            }
            #expect("\(error!)".contains("app=nothing"))
        }
    }
}
