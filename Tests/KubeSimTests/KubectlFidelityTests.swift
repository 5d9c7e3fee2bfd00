import Foundation
import KubeSim
import Testing

/// What kubectl 1.32 does against a cluster, done against kubesim (issue 9): `autoscale` (autoscaling/v1,
/// stored as v2), `get -o wide` columns, `get componentstatuses`, and `delete` of a StatefulSet pod.
@Suite(.serialized) struct KubectlFidelityTests {
    static let deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - {name: web, image: busybox, command: [sleep, "3600"]}
        """

    /// `kubectl autoscale` creates an autoscaling/v1 HPA; both versions show the one object, the CPU
    /// target converted both ways, on get, patch, apply, watch and delete.
    @Test func autoscaleServesOneHPAAtBothVersions() async throws {
        try await withKubeSimExecutable("autoscale") { kubectl, directory in
            let file = directory.appendingPathComponent("web.yaml")
            try Data(Self.deployment.utf8).write(to: file)
            #expect(try await kubectl.run(["apply", "-f", file.path]).status == 0)
            let created = try await kubectl.run([
                "autoscale", "deployment", "web", "--cpu-percent=50", "--min=1", "--max=3",
            ])
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stdout.contains("horizontalpodautoscaler.autoscaling/web autoscaled"), "\(created.stdout)")

            let v2 = try await kubectl.run(["get", "horizontalpodautoscalers.v2.autoscaling", "web", "-o", "json"])
            let stored = try JSON.parse(Data(v2.stdout.utf8))
            #expect(stored["apiVersion"] == "autoscaling/v2")
            #expect(
                stored[path: ["spec", "metrics"]]?.arrayValue?.first?[path: ["resource", "target"]]
                    == ["type": "Utilization", "averageUtilization": 50], "\(v2.stdout)")
            #expect(stored[path: ["spec", "targetCPUUtilizationPercentage"]] == nil)

            // kubectl resolves the short name `hpa.v1.autoscaling` to the preferred version (a client
            // matter, as against a cluster); the full resource name keeps v1.
            let short = try await kubectl.run(["get", "hpa.v1.autoscaling", "-o", "yaml"])
            #expect(short.status == 0 && short.stdout.contains("name: web"), "\(short.stderr)")
            let v1 = try await kubectl.run(["get", "horizontalpodautoscalers.v1.autoscaling", "web", "-o", "yaml"])
            #expect(v1.stdout.contains("apiVersion: autoscaling/v1"), "\(v1.stdout)")
            #expect(v1.stdout.contains("targetCPUUtilizationPercentage: 50"), "\(v1.stdout)")
            #expect(!v1.stdout.contains("metrics:"), "\(v1.stdout)")
            #expect(v1.stdout.contains("maxReplicas: 3"))
            #expect(v1.stdout.contains("autoscaling.alpha.kubernetes.io/conditions"), "v1 shows v2's conditions so")

            let table = try await kubectl.run(["get", "hpa"])
            #expect(table.stdout.contains("cpu: <unknown>/50%"), "\(table.stdout)")
            let described = try await kubectl.run(["describe", "hpa", "web"])
            #expect(described.status == 0, "\(described.stderr)")
            #expect(described.stdout.contains("Reference:") && described.stdout.contains("Deployment/web"))
            #expect(described.stdout.contains("Min replicas:") && described.stdout.contains("3"), "\(described.stdout)")

            // A merge patch through v1 changes the v2 metric and keeps what v1 cannot say.
            let patchV2 = #"{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":60}}}}"#
            #expect(
                try await kubectl.run([
                    "patch", "horizontalpodautoscalers.v2.autoscaling", "web", "--type=merge", "-p", patchV2,
                ]).status == 0)
            let watch = try kubectl.start([
                "get", "horizontalpodautoscalers.v1.autoscaling", "web", "-w", "-o", "json", "--output-watch-events",
            ])
            defer { watch.stop() }
            try await watch.waitForOutput("the first watch event") { $0.contains("ADDED") }
            // kubectl skips the watch's initial event: a patch before the watch is open shows nothing,
            // so patch until one shows.
            var percent = 60
            try await eventually("a v1 MODIFIED event", timeout: .seconds(90)) {
                percent += 1
                let patch = #"{"spec":{"targetCPUUtilizationPercentage":"# + "\(percent)}}"
                let patched = try await kubectl.run([
                    "patch", "horizontalpodautoscalers.v1.autoscaling", "web", "--type=merge", "-p", patch,
                ])
                guard patched.status == 0 else { throw TestFailure("patch through v1: \(patched.stderr)") }
                try await Task.sleep(for: .seconds(1))
                return watch.stdout.contains("MODIFIED")
                    && watch.stdout.contains(#""targetCPUUtilizationPercentage":"# + "\(percent)")
            }
            #expect(!watch.stdout.contains(#""metrics""#), "v1 watch events are v1: \(watch.stdout)")
            let after = try JSON.parse(
                Data(
                    try await kubectl.run(["get", "horizontalpodautoscalers.v2.autoscaling", "web", "-o", "json"])
                        .stdout.utf8))
            #expect(after[path: ["spec", "metrics"]]?.arrayValue?.count == 1)
            #expect(
                after[path: ["spec", "metrics"]]?.arrayValue?.first?[path: ["resource", "target", "averageUtilization"]]
                    == .int(Int64(percent)))
            #expect(after[path: ["spec", "behavior", "scaleDown", "stabilizationWindowSeconds"]] == 60, "\(after)")

            // Server-side apply of a v1 manifest.
            let manifest = directory.appendingPathComponent("hpa.yaml")
            try Data(
                """
                apiVersion: autoscaling/v1
                kind: HorizontalPodAutoscaler
                metadata: {name: api}
                spec:
                  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
                  maxReplicas: 4
                  targetCPUUtilizationPercentage: 30
                """.utf8
            ).write(to: manifest)
            let applied = try await kubectl.run(["apply", "--server-side", "-f", manifest.path])
            #expect(applied.status == 0, "\(applied.stderr)")
            let api = try await kubectl.run([
                "get", "hpa", "api", "-o", "jsonpath={.spec.metrics[0].resource.target.averageUtilization}",
            ])
            #expect(api.stdout == "30", "\(api.stdout) \(api.stderr)")

            let explained = try await kubectl.run([
                "explain", "hpa.spec.targetCPUUtilizationPercentage", "--api-version=autoscaling/v1",
            ])
            #expect(explained.status == 0, "\(explained.stderr)")
            #expect(explained.stdout.contains("integer"), "\(explained.stdout)")

            #expect(try await kubectl.run(["delete", "horizontalpodautoscalers.v1.autoscaling", "web"]).status == 0)
            let gone = try await kubectl.run(["get", "horizontalpodautoscalers.v2.autoscaling", "web"])
            #expect(gone.stderr.contains("NotFound"), "\(gone.stderr)")
        }
    }

    /// `-o wide` prints the columns kube-apiserver's printers give each kind.
    @Test func wideColumnsAreTheServersPrinters() async throws {
        try await withKubeSimExecutable("wide") { kubectl, directory in
            let file = directory.appendingPathComponent("sts.yaml")
            try Data((StatefulSetDeleteTests.manifest + "\n---\n" + Self.deployment).utf8).write(to: file)
            #expect(try await kubectl.run(["apply", "-f", file.path]).status == 0)
            func header(_ arguments: [String]) async throws -> [String] {
                let result = try await kubectl.run(["get"] + arguments)
                let first = result.stdout.split(separator: "\n").first.map(String.init) ?? ""
                return first.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }
            }
            #expect(
                try await header(["sts", "-n", "sts", "-o", "wide"]) == [
                    "NAME", "READY", "AGE", "CONTAINERS", "IMAGES",
                ])
            #expect(try await header(["sts", "-n", "sts"]) == ["NAME", "READY", "AGE"])
            #expect(
                try await header(["rs", "-A", "-o", "wide"])
                    == ["NAMESPACE", "NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"])
            try await eventually("the pod") { try await kubectl.run(["get", "pod", "web-0", "-n", "sts"]).status == 0 }
            #expect(
                try await header(["pods", "-n", "sts", "-o", "wide"])
                    == [
                        "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES",
                    ])
            #expect(
                try await header(["nodes", "-o", "wide"])
                    == [
                        "NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE",
                        "KERNEL-VERSION", "CONTAINER-RUNTIME",
                    ])
            #expect(
                try await header(["events", "-n", "sts", "-o", "wide"])
                    == [
                        "LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN",
                        "COUNT",
                        "NAME",
                    ])
            let claim =
                #"{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data","namespace":"sts"},"#
                + #""spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}"#
            #expect(try await kubectl.run(["apply", "-f", "-"], stdin: claim).status == 0)
            #expect(
                try await header(["pvc", "-n", "sts", "-o", "wide"])
                    == [
                        "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS",
                        "AGE", "VOLUMEMODE",
                    ])
            let wide = try await kubectl.run(["get", "sts", "web", "-n", "sts", "-o", "wide", "--no-headers"])
            #expect(wide.stdout.contains("web ") && wide.stdout.contains(" busybox"), "\(wide.stdout)")

            // No attach (README): refused as by a kubelet whose runtime has attach disabled, not NotFound.
            try await eventually("web-0 running", timeout: .seconds(90)) {
                let phase = try await kubectl.run([
                    "get", "pod", "web-0", "-n", "sts", "-o", "jsonpath={.status.phase}",
                ])
                return phase.stdout == "Running"
            }
            let attach = try await kubectl.run(["attach", "web-0", "-n", "sts"], timeout: .seconds(60))
            #expect(attach.status != 0)
            #expect(attach.stderr.contains("streaming method attach disabled"), "\(attach.stderr)")
            #expect(!attach.stderr.contains("could not find the requested resource"), "\(attach.stderr)")
        }
    }

    /// A 1.25+ server still serves v1 ComponentStatus, with a deprecation Warning.
    @Test func componentStatusesAreServedDeprecated() async throws {
        try await withKubeSimExecutable("componentstatuses") { kubectl, _ in
            let result = try await kubectl.run(["get", "componentstatuses"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("Warning: v1 ComponentStatus is deprecated in v1.19+"), "\(result.stderr)")
            #expect(
                result.stdout.contains("NAME") && result.stdout.contains("STATUS") && result.stdout.contains("ERROR"))
            for name in ["scheduler", "controller-manager", "etcd-0"] {
                #expect(result.stdout.contains(name), "\(result.stdout)")
            }
            #expect(result.stdout.contains("Healthy"))
            let one = try await kubectl.run(["get", "cs", "etcd-0", "-o", "jsonpath={.conditions[0].type}"])
            #expect(one.stdout == "Healthy", "\(one.stdout) \(one.stderr)")
            let refused = try await kubectl.run(["delete", "cs", "scheduler"])
            #expect(refused.status != 0)
        }
    }
}

extension KubectlFidelityTests {
    /// `kubectl create token` (TokenRequest) mints a token that authenticates as the service account;
    /// `kubectl auth can-i --list` reads kubesim's one rule: everything.
    @Test func tokenRequestAndRulesReview() async throws {
        try await withKubeSimExecutable("token") { kubectl, _ in
            try await eventually("the default service account") {
                try await kubectl.run(["get", "sa", "default"]).status == 0
            }
            let created = try await kubectl.run(["create", "token", "default", "--duration=20m"])
            #expect(created.status == 0, "\(created.stderr)")
            let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(token.split(separator: ".").count == 3, "a JWT's three parts: \(token)")
            let whoami = try await kubectl.run(["--token", token, "auth", "whoami"])
            #expect(
                whoami.stdout.contains("system:serviceaccount:default:default"), "\(whoami.stdout) \(whoami.stderr)")
            let missing = try await kubectl.run(["create", "token", "nobody"])
            #expect(missing.stderr.contains(#"serviceaccounts "nobody" not found"#), "\(missing.stderr)")

            let rules = try await kubectl.run(["auth", "can-i", "--list"])
            #expect(rules.status == 0, "\(rules.stderr)")
            #expect(rules.stdout.contains("*.*") && rules.stdout.contains("[*]"), "\(rules.stdout)")
        }
    }
}

extension KubectlFidelityTests {
    /// `kubectl apply --prune -l` looks up every kind of its default allowlist (ReplicationController and
    /// DaemonSet among them) and deletes the labelled objects the files no longer name; `describe
    /// namespace` lists its ResourceQuotas and LimitRanges.
    @Test func pruneAndDescribeFindEveryKindTheyLookUp() async throws {
        try await withKubeSimExecutable("prune") { kubectl, directory in
            func configMap(_ name: String) -> String {
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"\(name)\",\"labels\":{\"set\":\"p\"}}}"
            }
            let first = directory.appendingPathComponent("first.json")
            try Data(configMap("p1").utf8).write(to: first)
            #expect(try await kubectl.run(["apply", "-f", first.path, "-l", "set=p"]).status == 0)
            let second = directory.appendingPathComponent("second.json")
            try Data(configMap("p2").utf8).write(to: second)
            let pruned = try await kubectl.run(["apply", "-f", second.path, "--prune", "-l", "set=p"])
            #expect(pruned.status == 0, "\(pruned.stderr)")
            #expect(pruned.stdout.contains("configmap/p1 pruned"), "\(pruned.stdout)")
            let left = try await kubectl.run(["get", "cm", "-l", "set=p", "-o", "name"])
            #expect(left.stdout == "configmap/p2\n", "\(left.stdout)")

            // describe namespace reads quotas and limit ranges: served (not enforced), none here.
            let namespace = try await kubectl.run(["describe", "namespace", "default"])
            #expect(namespace.stdout.contains("No resource quota."), "\(namespace.stdout)")
            #expect(namespace.stdout.contains("No LimitRange resource."), "\(namespace.stdout)")
        }
    }
}
