import DevLoop
import Foundation
import LockedValue
import Testing

/// created/configured/unchanged from what was applied, against a fake API server that behaves like
/// Kubernetes 1.25 (a no-op apply of a Namespace bumps its resourceVersion and keeps no managedFields).
@Suite struct ApplyOutcomeTests {
    /// Applies `manifest` to a server whose GET answers `before` and whose PATCH answers `after`.
    static func outcome(manifest: String, before: String?, after: String) async throws -> AppliedObject.Outcome {
        let patches = Locked(0)
        let server = try await TestHTTPSServer(certificates: nil) { request in
            switch request.method {
            case "GET":
                return before.map { .json($0) } ?? .status(404, reason: "NotFound", message: "not found")
            case "PATCH":
                patches.withLock { $0 += 1 }
                #expect(request.headers["content-type"] == "application/apply-patch+yaml")
                return .json(after)
            default:
                return .status(405, reason: "MethodNotAllowed", message: request.method)
            }
        }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        do {
            let client = try KubeConfigFixture(server: "http://127.0.0.1:\(server.port)", in: folder).client()
            let results = try await ManifestApplier(client: client).apply(yaml: manifest)
            await server.stop()
            #expect(patches.current == 1)
            return try #require(results.first).outcome
        } catch {
            await server.stop()
            throw error
        }
    }

    static let namespaceManifest = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: dev
          labels: {devloop.dev/dev: "true"}
        """

    static func namespace(version: Int, labels: String = #""devloop.dev/dev":"true""#) -> String {
        #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"dev","uid":"u1","resourceVersion":"\#(version)","#
            + #""creationTimestamp":"2026-12-01T10:00:00Z","labels":{"kubernetes.io/metadata.name":"dev",\#(labels)}},"#
            + #""spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}}"#
    }

    @Test func aNoOpReapplyOfANamespaceIsUnchangedThoughItsVersionMoved() async throws {
        let outcome = try await Self.outcome(
            manifest: Self.namespaceManifest, before: Self.namespace(version: 5), after: Self.namespace(version: 6))
        #expect(outcome == .unchanged)
    }

    @Test func aNewLabelIsConfigured() async throws {
        let outcome = try await Self.outcome(
            manifest: Self.namespaceManifest.replacingOccurrences(of: "\"true\"}", with: "\"true\", team: a}"),
            before: Self.namespace(version: 5),
            after: Self.namespace(version: 6, labels: #""devloop.dev/dev":"true","team":"a""#))
        #expect(outcome == .configured)
    }

    @Test func aFirstApplyIsCreated() async throws {
        let outcome = try await Self.outcome(
            manifest: Self.namespaceManifest, before: nil, after: Self.namespace(version: 6))
        #expect(outcome == .created)
    }

    static let deploymentManifest = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: dev}
        spec:
          replicas: 1
          template:
            spec:
              containers:
              - {name: app, image: busybox, resources: {requests: {cpu: 0.5}}}
        """

    static func deployment(version: Int, replicas: Int, ready: Int) -> String {
        #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"dev","resourceVersion":"\#(version)","generation":\#(replicas)},"#
            + #""spec":{"replicas":\#(replicas),"template":{"spec":{"containers":[{"name":"app","image":"busybox","#
            + #""imagePullPolicy":"Always","resources":{"requests":{"cpu":"500m"}}}]}}},"status":{"readyReplicas":\#(ready)}}"#
    }

    /// Status written by the controller between the read and the apply, and a quantity the server
    /// normalised (0.5 → 500m), are no change of what was applied; a new replica count is.
    @Test func statusAndNormalisedValuesAreNoChangeButTheSpecIs() async throws {
        let steady = try await Self.outcome(
            manifest: Self.deploymentManifest, before: Self.deployment(version: 7, replicas: 1, ready: 0),
            after: Self.deployment(version: 9, replicas: 1, ready: 1))
        #expect(steady == .unchanged)
        let scaled = try await Self.outcome(
            manifest: Self.deploymentManifest.replacingOccurrences(of: "replicas: 1", with: "replicas: 2"),
            before: Self.deployment(version: 7, replicas: 1, ready: 1),
            after: Self.deployment(version: 8, replicas: 2, ready: 1))
        #expect(scaled == .configured)
    }
}
