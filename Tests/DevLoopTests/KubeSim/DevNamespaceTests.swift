import DevLoop
import Foundation
import Testing

/// The dev-namespace guard against kubesim: created labelled, an unlabelled one refused and left as it
/// was, and the guarded applier sending nothing when any object is outside.
@Suite("DevNamespace", .timeLimit(.minutes(2)))
struct DevNamespaceTests {
    @Test("ensure creates the namespace labelled and annotated, then accepts it as it is")
    func createsLabelled() async throws {
        try await KubeSimFixture.run { sim in
            let first = try await DevNamespace.ensure(client: sim.client, name: "shop-dev")
            #expect(first.created)
            let namespace = try await sim.client.get("/api/v1/namespaces/shop-dev")
            #expect(namespace[path: "metadata", "labels", "devloop.dev/dev"]?.string == "true")
            #expect(namespace[path: "metadata", "annotations", "devloop.dev/created-by"]?.string == "devloop")
            let second = try await DevNamespace.ensure(client: sim.client, name: "shop-dev")
            #expect(!second.created && second.name == "shop-dev")
            #expect(try await DevNamespace.verify(client: sim.client, name: "shop-dev") == second)
        }
    }

    @Test("an existing namespace without the dev label is refused and left unchanged")
    func refusesUnlabelled() async throws {
        try await KubeSimFixture.run { sim in
            _ = try await sim.client.create(
                "/api/v1/namespaces",
                .object([
                    "apiVersion": .string("v1"), "kind": .string("Namespace"),
                    "metadata": .object(["name": .string("team-prod"), "labels": .object(["team": .string("a")])]),
                ]))
            let before = try await sim.client.get("/api/v1/namespaces/team-prod")
            await #expect(throws: DevNamespaceError.notLabelled(name: "team-prod")) {
                try await DevNamespace.ensure(client: sim.client, name: "team-prod")
            }
            await #expect(throws: DevNamespaceError.notLabelled(name: "team-prod")) {
                try await DevNamespace.verify(client: sim.client, name: "team-prod")
            }
            #expect(try await sim.client.get("/api/v1/namespaces/team-prod") == before)
            #expect(
                DevNamespaceError.notLabelled(name: "team-prod").description.contains(
                    "not labelled devloop.dev/dev=true"))
        }
    }

    @Test("verify does not create; default and kube-* are refused before any request")
    func verifyAndNames() async throws {
        try await KubeSimFixture.run { sim in
            await #expect(throws: DevNamespaceError.notFound(name: "absent-dev")) {
                try await DevNamespace.verify(client: sim.client, name: "absent-dev")
            }
            await #expect(throws: KubeClientError.self) { try await sim.client.get("/api/v1/namespaces/absent-dev") }
            for name in ["default", "kube-system"] {
                let error = await #expect(throws: DevNamespaceError.self) {
                    try await DevNamespace.ensure(client: sim.client, name: name)
                }
                #expect(error?.isBadInput == true)
            }
        }
    }

    @Test("the guarded applier puts namespace-less objects into the dev namespace")
    func appliesInside() async throws {
        try await KubeSimFixture.run { sim in
            let namespace = try await DevNamespace.ensure(client: sim.client, name: "shop-dev")
            let manifests = try DevManifests.load(
                yaml: """
                    apiVersion: v1
                    kind: ConfigMap
                    metadata: {name: settings}
                    data: {mode: dev}
                    ---
                    apiVersion: v1
                    kind: Namespace
                    metadata: {name: shop-dev}
                    """, file: "/dev/k8s/app.yaml", namespace: "shop-dev")
            let applied = try await ManifestApplier(client: sim.client).apply(manifests, into: namespace)
            // The Namespace goes first; whether its apply counts as a change depends on managedFields.
            #expect(applied.map(\.kind) == ["Namespace", "ConfigMap"])
            #expect(applied.last?.description == "configmap/settings created")
            let map = try await sim.client.get("/api/v1/namespaces/shop-dev/configmaps/settings")
            #expect(map[path: "data", "mode"]?.string == "dev")
            let labels = try await sim.client.get("/api/v1/namespaces/shop-dev")[path: "metadata", "labels"]
            #expect(labels?["devloop.dev/dev"]?.string == "true")
        }
    }

    @Test("one object outside the dev namespace means nothing is sent")
    func refusesOutsideBeforeSending() async throws {
        try await KubeSimFixture.run { sim in
            let namespace = try await DevNamespace.ensure(client: sim.client, name: "shop-dev")
            let objects = try ManifestApplier.documents(
                """
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: inside}
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: elsewhere, namespace: default}
                ---
                apiVersion: rbac.authorization.k8s.io/v1
                kind: ClusterRole
                metadata: {name: everything}
                """, source: "test")
            let applier = ManifestApplier(client: sim.client)
            await #expect(
                throws: DevNamespaceError.outside(
                    object: "ConfigMap/elsewhere", detail: "is in namespace `default`, not `shop-dev`")
            ) {
                try await applier.apply(objects, into: namespace)
            }
            await #expect(
                throws: DevNamespaceError.outside(object: "ClusterRole/everything", detail: "is cluster-scoped")
            ) {
                try await applier.apply([objects[0], objects[2]], into: namespace)
            }
            await #expect(throws: KubeClientError.self) {
                try await sim.client.get("/api/v1/namespaces/shop-dev/configmaps/inside")
            }
        }
    }
}
