import Foundation
import KubeSim
import Testing

/// The API server, judged by the real kubectl, with a host-process runtime seam under it.
@Suite struct APIServerKubectlTests {
    static let manifests = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: shop
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: shop
        spec:
          replicas: 2
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: app
                image: python:3.12
                command: ["python3", "-m", "http.server", "5000"]
                ports:
                - containerPort: 5000
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          namespace: shop
        spec:
          selector: {app: web}
          ports:
          - port: 80
            targetPort: 5000
        """

    @Test func applyGetAndDescribe() async throws {
        let directory = temporaryDirectory("api")
        let runtime = HostProcessRuntime()
        let server = try await KubeSimServer.start(directory: directory, runtime: runtime)
        let kubectl = Kubectl(kubeconfig: server.kubeconfigPath)
        let manifest = directory.appendingPathComponent("app.yaml")
        try Data(Self.manifests.utf8).write(to: manifest)
        let applied = try await kubectl.run(["apply", "--server-side", "-f", manifest.path])
        #expect(applied.status == 0, "\(applied.stderr)")
        try await eventually("two running pods") {
            let pods = try await kubectl.run(["get", "pods", "-n", "shop"])
            return pods.stdout.components(separatedBy: "1/1     Running").count == 3
        }
        let wide = try await kubectl.run(["get", "pods", "-n", "shop", "-o", "wide"])
        #expect(wide.stdout.contains("127.0.0.1   kubesim"))
        let tables = try await kubectl.run(["get", "deploy,rs,svc", "-n", "shop"])
        #expect(tables.stdout.contains("deployment.apps/web   2/2     2            2"))
        #expect(tables.stdout.contains("80/TCP"))
        let describe = try await kubectl.run(["describe", "deploy", "web", "-n", "shop"])
        #expect(describe.stdout.contains("2 desired | 2 updated | 2 total | 2 available | 0 unavailable"))
        let events = try await kubectl.run(["get", "events", "-n", "shop"])
        #expect(events.stdout.hasPrefix("LAST SEEN   TYPE     REASON"), "\(events.stdout)")
        #expect(events.stdout.contains("Scheduled"))
        #expect(events.stdout.contains("Started container app"))
        let canI = try await kubectl.run(["auth", "can-i", "create", "deployments", "-n", "shop"])
        #expect(canI.stdout == "yes\n", "\(canI.stderr)")
        let rollout = try await kubectl.run(["rollout", "status", "deploy/web", "-n", "shop"])
        #expect(rollout.stdout == "deployment \"web\" successfully rolled out\n")
        let version = try await server.api.get(.deployments, namespace: "shop", name: "web")[
            path: ["metadata", "resourceVersion"]]
        let again = try await kubectl.run(["apply", "--server-side", "-f", manifest.path])
        #expect(again.status == 0)
        let unchanged = try await server.api.get(.deployments, namespace: "shop", name: "web")
        #expect(unchanged[path: ["metadata", "resourceVersion"]] == version)
        await server.stop()
    }
}

extension APIServerKubectlTests {
    /// Client-side apply (strategic merge patches with directives), scale, label and delete.
    @Test func clientSideApplyScaleLabelAndDelete() async throws {
        let directory = temporaryDirectory("csa")
        let server = try await KubeSimServer.start(directory: directory, runtime: HostProcessRuntime())
        let kubectl = Kubectl(kubeconfig: server.kubeconfigPath)
        let manifest = directory.appendingPathComponent("app.yaml")
        let first = Self.manifests.replacingOccurrences(
            of: "        ports:\n",
            with: "        env:\n        - {name: A, value: \"1\"}\n        - {name: B, value: \"2\"}\n        ports:\n"
        )
        try Data(first.utf8).write(to: manifest)
        #expect(try await kubectl.run(["apply", "-f", manifest.path]).status == 0)
        try Data(first.replacingOccurrences(of: "{name: B, value: \"2\"}", with: "{name: C, value: \"3\"}").utf8)
            .write(to: manifest)
        let second = try await kubectl.run(["apply", "-f", manifest.path])
        #expect(second.stdout.contains("deployment.apps/web configured"), "\(second.stderr)")
        let env = try await kubectl.run([
            "get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.template.spec.containers[0].env[*].name}",
        ])
        #expect(env.stdout == "A C")

        #expect(try await kubectl.run(["scale", "deploy/web", "-n", "shop", "--replicas=3"]).status == 0)
        try await eventually("three pods") {
            let pods = try await kubectl.run(["get", "pods", "-n", "shop", "--no-headers"])
            return pods.stdout.split(separator: "\n").count == 3
        }
        #expect(try await kubectl.run(["label", "deploy", "web", "-n", "shop", "tier=front"]).status == 0)
        let labelled = try await kubectl.run([
            "get", "deploy", "-n", "shop", "-l", "tier in (front,back)", "-o", "name",
        ])
        #expect(labelled.stdout == "deployment.apps/web\n")

        let deleted = try await kubectl.run(["delete", "deploy", "web", "-n", "shop"])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        try await eventually("the ReplicaSet and pods collected") {
            let all = try await kubectl.run(["get", "rs,pods", "-n", "shop", "--no-headers"])
            return all.stdout.isEmpty
        }
        await server.stop()
    }
}

extension APIServerKubectlTests {
    /// `kubectl create namespace|configmap|secret|deployment` and `expose` send protobuf bodies.
    @Test func kubectlCreateSendsProtobuf() async throws {
        let server = try await KubeSimServer.start(
            directory: temporaryDirectory("proto"), runtime: HostProcessRuntime())
        let kubectl = Kubectl(kubeconfig: server.kubeconfigPath)
        for command in [
            ["create", "namespace", "made"], ["create", "configmap", "cfg", "-n", "made", "--from-literal=a=1"],
            ["create", "secret", "generic", "sec", "-n", "made", "--from-literal=p=x"],
            ["create", "deployment", "app", "-n", "made", "--image=busybox", "--replicas=2", "--", "sleep", "60"],
            ["expose", "deployment", "app", "-n", "made", "--port=80", "--target-port=5000"],
        ] {
            let result = try await kubectl.run(command)
            #expect(result.status == 0, "\(command): \(result.stderr)")
        }
        #expect(try await server.api.get(.configMaps, namespace: "made", name: "cfg")["data"] == ["a": "1"])
        #expect(try await server.api.get(.secrets, namespace: "made", name: "sec")["data"] == ["p": "eA=="])
        let service = try await server.api.get(.services, namespace: "made", name: "app")
        #expect(service[path: ["spec", "ports"]]?.arrayValue?.first?["targetPort"] == 5000)
        try await eventually("two pods of the deployment") {
            let pods = try await kubectl.run(["get", "pods", "-n", "made", "-l", "app=app", "--no-headers"])
            return pods.stdout.components(separatedBy: "Running").count == 3
        }
        let container = try await kubectl.run([
            "get", "deploy", "app", "-n", "made", "-o", "jsonpath={.spec.template.spec.containers[0].command}",
        ])
        #expect(container.stdout == #"["sleep","60"]"#)
        await server.stop()
    }
}
