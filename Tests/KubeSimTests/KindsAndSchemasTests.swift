import Foundation
import Testing

@testable import KubeSim

/// The kinds developers' manifests carry beyond a Deployment, and the published schemas, judged by the
/// real kubectl against the `kubesim` executable (bubblewrap pods).
@Suite(.serialized) struct KindsAndSchemasTests {
    static let statefulSet = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: kinds}
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: db, namespace: kinds}
        spec:
          serviceName: db
          replicas: 2
          selector: {matchLabels: {app: db}}
          template:
            metadata: {labels: {app: db}}
            spec:
              terminationGracePeriodSeconds: 2
              containers:
              - name: db
                image: busybox
                command: [sh, -c, 'echo "$(hostname) was here" >> /data/log; cat /data/log; exec python3 -m http.server 8000']
                ports: [{name: web, containerPort: 8000}]
                readinessProbe: {tcpSocket: {port: 8000}, periodSeconds: 1}
                volumeMounts: [{name: data, mountPath: /data}]
          volumeClaimTemplates:
          - metadata: {name: data}
            spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: db, namespace: kinds}
        spec:
          selector: {app: db}
          ports: [{port: 80, targetPort: web}]
        """

    /// Ordinal pods in order, claims bound to folders under the state directory that outlive a pod,
    /// `rollout status` and a rolling update, and the Service's endpoints.
    @Test func statefulSetWithClaimsRollsAndKeepsItsData() async throws {
        try await withKubeSim("kinds-sts") { kubectl, directory in
            let manifest = directory.appendingPathComponent("sts.yaml")
            try Data(Self.statefulSet.utf8).write(to: manifest)
            let applied = try await kubectl.run(["apply", "-f", manifest.path])
            #expect(applied.status == 0, "\(applied.stderr)")
            let rollout = try await kubectl.run(["rollout", "status", "sts/db", "-n", "kinds", "--timeout=60s"])
            #expect(rollout.status == 0, "\(rollout.stdout)\(rollout.stderr)")
            let claims = try await kubectl.run(["get", "pvc", "-n", "kinds", "--no-headers"])
            #expect(claims.stdout.contains("data-db-0   Bound") && claims.stdout.contains("data-db-1   Bound"))
            let volumes = try await kubectl.run(["get", "pv", "-o", "jsonpath={.items[*].spec.hostPath.path}"])
            let paths = volumes.stdout.split(separator: " ").map(String.init)
            #expect(paths.count == 2)
            #expect(paths.allSatisfy { $0.hasPrefix(directory.appendingPathComponent("sim/volumes").path) }, "\(paths)")
            let endpoints = try await kubectl.run([
                "get", "endpoints", "db", "-n", "kinds", "-o",
                "jsonpath={.subsets[0].ports[0].port} {.subsets[0].addresses[*].targetRef.name}",
            ])
            #expect(endpoints.stdout == "8000 db-0 db-1", "\(endpoints.stdout)")

            // A replaced pod keeps its name and its claim: the data written before is still there.
            let before = try await kubectl.run(["get", "pod", "db-0", "-n", "kinds", "-o", "jsonpath={.metadata.uid}"])
            #expect(try await kubectl.run(["delete", "pod", "db-0", "-n", "kinds", "--wait=false"]).status == 0)
            try await eventually("a new db-0") {
                let now = try await kubectl.run(["get", "pod", "db-0", "-n", "kinds", "-o", "jsonpath={.metadata.uid}"])
                return now.status == 0 && !now.stdout.isEmpty && now.stdout != before.stdout
            }
            let ready = try await kubectl.run([
                "wait", "--for=condition=Ready", "pod/db-0", "-n", "kinds", "--timeout=60s",
            ])
            #expect(ready.status == 0, "\(ready.stderr)")
            let log = try await kubectl.run(["logs", "db-0", "-n", "kinds"])
            #expect(log.stdout.components(separatedBy: "db-0 was here").count == 3, "\(log.stdout)")

            // A changed template rolls every pod onto the new revision.
            #expect(try await kubectl.run(["set", "env", "sts/db", "-n", "kinds", "FOO=bar"]).status == 0)
            let rolled = try await kubectl.run(["rollout", "status", "sts/db", "-n", "kinds", "--timeout=90s"])
            #expect(rolled.status == 0, "\(rolled.stdout)\(rolled.stderr)")
            let env = try await kubectl.run([
                "get", "pods", "-n", "kinds", "-o", "jsonpath={.items[*].spec.containers[0].env[0].value}",
            ])
            #expect(env.stdout == "bar bar", "\(env.stdout)")
        }
    }

    /// `kubectl create job` (protobuf), runs to completion, `wait --for=condition=complete`, logs.
    @Test func jobRunsToCompletion() async throws {
        try await withKubeSim("kinds-job") { kubectl, _ in
            #expect(try await kubectl.run(["create", "namespace", "jobs"]).status == 0)
            let created = try await kubectl.run([
                "create", "job", "hello", "-n", "jobs", "--image=busybox", "--", "sh", "-c", "echo hello from a job",
            ])
            #expect(created.status == 0, "\(created.stderr)")
            let done = try await kubectl.run([
                "wait", "--for=condition=complete", "job/hello", "-n", "jobs", "--timeout=60s",
            ])
            #expect(done.status == 0, "\(done.stderr)")
            #expect(try await kubectl.run(["logs", "job/hello", "-n", "jobs"]).stdout == "hello from a job\n")
            let jobs = try await kubectl.run(["get", "jobs", "-n", "jobs", "--no-headers"])
            #expect(jobs.stdout.contains("Complete   1/1"), "\(jobs.stdout)")
        }
    }

    /// The shipped test overlay applies with client-side validation on; the node, default service
    /// accounts, the kinds without a controller and `kubectl explain` answer as on a cluster.
    @Test func shippedOverlayAppliesWithValidationAndExplainWorks() async throws {
        try await withKubeSim("kinds-overlay") { kubectl, directory in
            let copy = directory.appendingPathComponent("k8s")
            let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            try FileManager.default.copyItem(at: repository.appendingPathComponent("k8s"), to: copy)
            let overlay = copy.appendingPathComponent("overlays/test")
            try FileManager.default.copyItem(
                at: overlay.appendingPathComponent("secrets.env.example"),
                to: overlay.appendingPathComponent("secrets.env"))
            let applied = try await kubectl.run(["apply", "-k", overlay.path])
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            for object in [
                "serviceaccount/webapp", "statefulset.apps/postgres", "horizontalpodautoscaler.autoscaling/webapp",
                "ingress.networking.k8s.io/webapp", "networkpolicy.networking.k8s.io/webapp",
                "poddisruptionbudget.policy/webapp",
            ] {
                #expect(applied.stdout.contains("\(object) created"), "\(object): \(applied.stdout)")
            }
            // No false positives against the published schemas, even where only a warning would say so.
            let warned = try await kubectl.run(["apply", "--validate=warn", "-k", overlay.path])
            #expect(warned.status == 0 && !warned.stderr.contains("unknown field"), "\(warned.stderr)")
            let nodes = try await kubectl.run(["get", "nodes", "--no-headers"])
            #expect(nodes.stdout.hasPrefix("kubesim   Ready"), "\(nodes.stdout)")
            let accounts = try await kubectl.run(["get", "serviceaccount", "default", "-n", "default", "-o", "name"])
            #expect(accounts.stdout == "serviceaccount/default\n", "\(accounts.stderr)")
            try await eventually("the HPA reports that it has no metrics") {
                let hpa = try await kubectl.run([
                    "get", "hpa", "webapp", "-n", "webapp-test", "-o",
                    "jsonpath={.status.conditions[?(@.type==\"ScalingActive\")].reason}",
                ])
                return hpa.stdout == "FailedGetResourceMetric"
            }
            let explain = try await kubectl.run(["explain", "statefulset.spec.volumeClaimTemplates"])
            #expect(explain.status == 0, "\(explain.stderr)")
            #expect(explain.stdout.contains("PersistentVolumeClaim"), "\(explain.stdout)")
            let field = try await kubectl.run(["explain", "deployment.spec.strategy.type"])
            #expect(field.stdout.contains("Recreate"), "\(field.stdout)")
        }
    }

    private func withKubeSim(
        _ name: String, _ body: (Kubectl, URL) async throws -> Void
    ) async throws {
        let directory = temporaryDirectory(name)
        let (process, kubeconfig) = try await KubeSimBinary.start(directory: directory.appendingPathComponent("sim"))
        defer {
            process.stop()
            try? FileManager.default.removeItem(at: directory)
        }
        try await body(Kubectl(kubeconfig: kubeconfig), directory)
    }
}

/// Unknown fields found against the published schemas, named as kube-apiserver names them.
@Suite struct FieldValidationTests {
    @Test func unknownFieldsAreNamedByTheirPath() {
        let deployment: JSON = [
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": ["name": "web", "labels": ["any-label": "x"], "annotations": ["a/b": "c"]],
            "spec": [
                "replicas": 1, "bogus": true, "selector": ["matchLabels": ["app": "web"]],
                "template": [
                    "metadata": ["labels": ["app": "web"]],
                    "spec": [
                        "containers": [
                            ["name": "a", "image": "x", "ports": [["containerPort": 80, "name": "http"]]],
                            ["name": "b", "image": "x", "colour": "blue", "resources": ["limits": ["cpu": "1"]]],
                        ]
                    ],
                ],
            ],
            "status": ["replicas": 1],
        ]
        #expect(
            FieldValidation.unknownFields(in: deployment, resource: .deployments) == [
                "spec.bogus", "spec.template.spec.containers[1].colour",
            ])
        let service: JSON = [
            "apiVersion": "v1", "kind": "Service", "metadata": ["name": "s"],
            "spec": ["ports": [["port": 80, "targetPort": "http"]]],
        ]
        #expect(FieldValidation.unknownFields(in: service, resource: .services).isEmpty)
    }

    @Test func warnAndIgnoreDropTheUnknownFieldsAndKeepDirectives() throws {
        let patch: JSON = [
            "spec": [
                "bogus": 1, "gone": .null, "replicas": 2, "$retainKeys": ["replicas"],
                "template": [
                    "spec": ["$setElementOrder/containers": [["name": "a"]], "containers": [["name": "a", "x": 1]]]
                ],
            ]
        ]
        let result = FieldValidation.check(patch, resource: .deployments, patch: true)
        #expect(result.unknown == ["spec.bogus", "spec.template.spec.containers[0].x"])
        #expect(result.known[path: ["spec", "bogus"]] == nil)
        #expect(result.known[path: ["spec", "replicas"]] == 2)
        #expect(result.known[path: ["spec", "gone"]] == .null)
        #expect(result.known[path: ["spec", "$retainKeys"]] != nil)
        #expect(result.known[path: ["spec", "template", "spec", "containers"]] == [["name": "a"]])
        let applied = FieldValidation.check(patch, resource: .deployments)
        #expect(applied.unknown.contains("spec.$retainKeys"))
        #expect(applied.unknownInApplyForm.contains(".spec.template.spec.containers[name=\"a\"].x"))
        #expect(throws: APIError.self) { try FieldValidation.Mode(parameter: "Loud") }
        #expect(try FieldValidation.Mode(parameter: nil) == .warn)
    }
}
