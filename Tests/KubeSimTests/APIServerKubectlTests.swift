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
        let applied = try await kubectl.run(["apply", "--server-side", "-f", manifest.path, "-v=6"])
        print(applied.stdout, applied.stderr)
        try await eventually("two running pods") {
            let pods = try await kubectl.run(["get", "pods", "-n", "shop"])
            return pods.stdout.components(separatedBy: "1/1     Running").count == 3
        }
        for command in [
            ["get", "pods", "-n", "shop", "-o", "wide"], ["get", "deploy,rs,svc", "-n", "shop"],
            ["describe", "deploy", "web", "-n", "shop"], ["rollout", "status", "deploy/web", "-n", "shop", "-v=6"],
            ["get", "all", "-n", "shop"],
        ] {
            let result = try await kubectl.run(command)
            print(command, result.status, result.stdout, result.stderr)
        }
        let again = try await kubectl.run(["apply", "--server-side", "-f", manifest.path])
        print(again.stdout, again.stderr)
        await server.stop()
    }
}
