import Foundation
import Testing

/// Server-side field validation (issue 9) judged by the real kubectl 1.32: unknown fields refused under
/// `fieldValidation=Strict` (kubectl's default), warned about under `Warn`, passed over under `Ignore`,
/// and server-side apply refusing them whatever the parameter says, as kube-apiserver does.
@Suite(.serialized) struct FieldValidationKubectlTests {
    typealias Cluster = PodSpecKubectlTests.Cluster

    static func deployment(_ name: String, extra: String = "") -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: \(name)}
        spec:
          replicas: 0
          selector: {matchLabels: {app: \(name)}}
          template:
            metadata: {labels: {app: \(name)}}
            spec:
              containers: [{name: app, image: busybox, command: [sleep, "60"]}]
        \(extra)
        """
    }

    static let bogus = "  bogus: 1"

    func exists(_ cluster: Cluster, _ name: String) async throws -> Bool {
        try await cluster.run(["get", "deployment", name, "-o", "name"]).status == 0
    }

    @Test func clientSideApplyIsStrictByDefaultAndWarnsOrIgnoresOnRequest() async throws {
        try await PodSpecKubectlTests.withCluster("fv-apply") { cluster in
            let refused = try await cluster.apply(Self.deployment("strict", extra: Self.bogus + "\n  other: 2"))
            #expect(refused.status != 0)
            #expect(
                refused.stderr.contains(
                    "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.bogus\", unknown field \"spec.other\""
                ), "\(refused.stderr)")
            #expect(try await !exists(cluster, "strict"))

            let dryRun = try await cluster.apply(Self.deployment("dry", extra: Self.bogus), ["--dry-run=server"])
            #expect(dryRun.status != 0 && dryRun.stderr.contains("unknown field \"spec.bogus\""), "\(dryRun.stderr)")

            let warned = try await cluster.apply(Self.deployment("warned", extra: Self.bogus), ["--validate=warn"])
            #expect(warned.status == 0, "\(warned.stderr)")
            #expect(warned.stderr.contains("Warning: unknown field \"spec.bogus\""), "\(warned.stderr)")
            // Dropped, as a typed server drops it: a later apply (a patch) does not meet it again.
            let stored = try await cluster.run(["get", "deployment", "warned", "-o", "json"])
            #expect(stored.status == 0 && !stored.stdout.contains("\"bogus\""), "\(stored.stdout)")
            let again = try await cluster.apply(Self.deployment("warned", extra: "  minReadySeconds: 1"))
            #expect(again.status == 0 && !again.stderr.contains("unknown field"), "\(again.stderr)")

            let ignored = try await cluster.apply(Self.deployment("ignored", extra: Self.bogus), ["--validate=false"])
            #expect(ignored.status == 0, "\(ignored.stderr)")
            #expect(!ignored.stderr.contains("unknown field"), "\(ignored.stderr)")

            // An existing object: the strategic merge patch kubectl sends is checked too.
            let patchRefused = try await cluster.apply(Self.deployment("ignored", extra: "  colour: blue"))
            #expect(
                patchRefused.status != 0 && patchRefused.stderr.contains("unknown field \"spec.colour\""),
                "\(patchRefused.stderr)")
        }
    }

    @Test func serverSideApplyRefusesUnknownFieldsWhateverTheParameter() async throws {
        try await PodSpecKubectlTests.withCluster("fv-ssa") { cluster in
            for extra in [[], ["--validate=warn"], ["--validate=false"]] {
                let refused = try await cluster.apply(
                    Self.deployment("ssa", extra: Self.bogus), ["--server-side"] + extra)
                #expect(refused.status != 0, "\(extra)")
                #expect(refused.stderr.contains(".spec.bogus: field not declared in schema"), "\(refused.stderr)")
            }
            #expect(try await !exists(cluster, "ssa"))
            let container = try await cluster.apply(
                Self.deployment("ssa").replacingOccurrences(of: "name: app,", with: "name: app, colour: blue,"),
                ["--server-side"])
            #expect(
                container.stderr.contains(
                    #".spec.template.spec.containers[name="app"].colour: field not declared in schema"#),
                "\(container.stderr)")
            let applied = try await cluster.apply(Self.deployment("ssa"), ["--server-side"])
            #expect(applied.status == 0 && !applied.stderr.contains("unknown field"), "\(applied.stderr)")
        }
    }

    @Test func createReplaceAndPatchAreChecked() async throws {
        try await PodSpecKubectlTests.withCluster("fv-write") { cluster in
            let file = cluster.directory.appendingPathComponent("bogus.yaml")
            try Data(Self.deployment("web", extra: Self.bogus).utf8).write(to: file)
            let created = try await cluster.run(["create", "-f", file.path])
            #expect(created.status != 0 && created.stderr.contains("unknown field \"spec.bogus\""), "\(created.stderr)")
            let warned = try await cluster.run(["create", "--validate=warn", "-f", file.path])
            #expect(warned.status == 0, "\(warned.stderr)")
            #expect(warned.stderr.contains("Warning: unknown field \"spec.bogus\""), "\(warned.stderr)")

            let replaced = try await cluster.run(["replace", "-f", file.path])
            #expect(
                replaced.status != 0 && replaced.stderr.contains("unknown field \"spec.bogus\""), "\(replaced.stderr)")
            let replacedQuietly = try await cluster.run(["replace", "--validate=false", "-f", file.path])
            #expect(replacedQuietly.status == 0 && !replacedQuietly.stderr.contains("unknown field"))

            // kubectl patch sends no fieldValidation: the server's default, Warn, and the field is dropped.
            let patches = [
                ["--type=merge", "-p", #"{"spec":{"bogus":1}}"#],
                ["--type=json", "-p", #"[{"op":"add","path":"/spec/bogus","value":1}]"#],
                ["--type=strategic", "-p", #"{"spec":{"bogus":1}}"#],
            ]
            for patch in patches {
                let patched = try await cluster.run(["patch", "deployment", "web"] + patch)
                #expect(patched.status == 0, "\(patch): \(patched.stderr)")
                #expect(patched.stderr.contains("Warning: unknown field \"spec.bogus\""), "\(patch): \(patched.stderr)")
                #expect(try await cluster.jsonpath("deployment/web", ".spec.bogus") == "", "\(patch)")
            }
            let status = try await cluster.run([
                "patch", "deployment", "web", "--subresource=status", "--type=merge", "-p", #"{"status":{"bogus":1}}"#,
            ])
            #expect(status.stderr.contains("Warning: unknown field \"status.bogus\""), "\(status.stderr)")
            let fine = try await cluster.run([
                "patch", "deployment", "web", "--type=merge", "-p", #"{"spec":{"minReadySeconds":2}}"#,
            ])
            #expect(fine.status == 0 && !fine.stderr.contains("unknown field"), "\(fine.stderr)")
        }
    }

    /// No false positives: the shipped dev deployment (intOrString ports, quantities, maps, hostPath)
    /// passes every kind of apply without a word about unknown fields.
    @Test func shippedDevDeploymentHasNoUnknownFields() async throws {
        try await PodSpecKubectlTests.withCluster("fv-devk8s") { cluster in
            let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("dev/k8s")
            let namespace = try await cluster.kubectl.run([
                "apply", "-f", folder.appendingPathComponent("namespace.yaml").path,
            ])
            #expect(namespace.status == 0, "\(namespace.stderr)")
            for extra in [["--validate=warn"], ["--server-side"], ["--validate=strict"]] {
                let applied = try await cluster.kubectl.run(["apply", "--dry-run=server", "-f", folder.path] + extra)
                #expect(applied.status == 0, "\(extra): \(applied.stderr)")
                #expect(!applied.stderr.contains("unknown field") && !applied.stderr.contains("not declared"))
            }
        }
    }
}

/// What kubectl cannot send: `Strict` on merge and JSON patches, `Ignore` on a create, and a value of
/// `fieldValidation` the API does not know, as raw requests.
@Suite struct FieldValidationAPITests {
    static let path = "/api/v1/namespaces/default/configmaps"
    static let message =
        #"ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "bogus""#

    @Test func strictPatchesIgnoreAndAnUnsupportedValue() async throws {
        let (server, curl) = try await APISemanticsTests.start("fv-raw")
        let body = #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"b"},"bogus":1}"#
        let (refused, status) = try await curl.request("POST", Self.path + "?fieldValidation=Strict", body: body)
        #expect(refused == 400 && status["reason"] == "BadRequest")
        #expect(status["message"]?.stringValue == Self.message, "\(status)")
        let (created, object) = try await curl.request("POST", Self.path + "?fieldValidation=Ignore", body: body)
        #expect(created == 201 && object["bogus"] == nil && object[path: ["data", "a"]] == "b", "\(object)")

        let merge = try await curl.request(
            "PATCH", Self.path + "/c?fieldValidation=Strict", body: #"{"bogus":1}"#,
            contentType: "application/merge-patch+json")
        #expect(merge.0 == 400 && merge.1["message"]?.stringValue == Self.message, "\(merge.1)")
        let json = try await curl.request(
            "PATCH", Self.path + "/c?fieldValidation=Strict", body: #"[{"op":"add","path":"/bogus","value":1}]"#,
            contentType: "application/json-patch+json")
        #expect(json.0 == 400 && json.1["message"]?.stringValue == Self.message, "\(json.1)")
        let (removed, kept) = try await curl.request(
            "PATCH", Self.path + "/c?fieldValidation=Strict", body: #"{"bogus":null,"data":{"a":"c"}}"#,
            contentType: "application/merge-patch+json")
        #expect(removed == 200 && kept[path: ["data", "a"]] == "c", "\(kept)")

        let (unknown, answer) = try await curl.request("POST", Self.path + "?fieldValidation=Loud", body: body)
        #expect(unknown == 400 && answer["message"]?.stringValue?.contains("Unsupported value: \"Loud\"") == true)
        await server.stop()
    }
}
