import Foundation
import Testing

@testable import KubeSim

/// `/openapi/v2` as kube-apiserver serves it: swagger 2.0 JSON, and gnostic protobuf for client-go's
/// `OpenAPISchema()`, which `kubectl explain --output=plaintext-openapiv2` reads.
@Suite(.serialized) struct OpenAPIv2Tests {
    @Test func explainReadsTheProtobufDocumentAndRawGivesSwaggerJSON() async throws {
        try await withKubeSimExecutable("openapi-v2") { kubectl, _ in
            let explain = try await kubectl.run(["explain", "deployment.spec", "--output=plaintext-openapiv2"])
            #expect(explain.status == 0, "\(explain.stderr)")
            #expect(explain.stdout.contains("KIND:     Deployment"), "\(explain.stdout)")
            #expect(explain.stdout.contains("RESOURCE: spec <Object>"), "\(explain.stdout)")
            #expect(explain.stdout.contains("template\t<Object> -required-"), "\(explain.stdout)")
            let field = try await kubectl.run([
                "explain", "statefulset.spec.updateStrategy.rollingUpdate.partition", "--output=plaintext-openapiv2",
            ])
            #expect(field.status == 0 && field.stdout.contains("FIELD:    partition <integer>"), "\(field.stdout)")
            let recursive = try await kubectl.run([
                "explain", "pods.spec.containers", "--recursive", "--output=plaintext-openapiv2",
            ])
            #expect(recursive.stdout.contains("readinessProbe\t<Object>"), "\(recursive.stdout.prefix(2000))")

            let raw = try await kubectl.run(["get", "--raw", "/openapi/v2"])
            #expect(raw.status == 0, "\(raw.stderr)")
            let document = try JSON.parse(Data(raw.stdout.utf8))
            #expect(document["swagger"] == "2.0")
            let deployment = document[path: ["definitions", "io.k8s.api.apps.v1.Deployment"]]
            #expect(deployment?["x-kubernetes-group-version-kind"]?.arrayValue?.first?["kind"] == "Deployment")
            #expect(
                deployment?[path: ["properties", "spec", "$ref"]] == "#/definitions/io.k8s.api.apps.v1.DeploymentSpec")
            let path = document[path: ["paths", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]]
            #expect(path?["patch"]?["x-kubernetes-action"] == "patch", "\(String(describing: path))")
            #expect(!raw.stdout.contains("#/components/schemas/"))
        }
    }
}
