import DevLoop
import Foundation
import KubeSim
import Testing

/// A kubesim started for one test (fast restart back-off so restart tests take seconds), a client for
/// it, and helpers to apply manifests and wait.
struct KubeSimFixture {
    let server: KubeSimServer
    let client: KubeClient
    let directory: URL

    /// `profile`: the Kubernetes release whose streaming protocols and /version kubesim has.
    static func start(profile: APIServerProfile = .current) async throws -> KubeSimFixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "devloop-kubesim-\(UUID().uuidString.prefix(8))")
        return try await start(directory: directory, options: KubeSimServer.Options(profile: profile))
    }

    private static func start(directory: URL, options: KubeSimServer.Options) async throws -> KubeSimFixture {
        let runtime = BubblewrapPodRuntime(
            configuration: BubblewrapRuntimeConfiguration(
                stateDirectory: directory.appendingPathComponent("pods"), backOffBase: .seconds(1),
                backOffMax: .seconds(2)))
        let server = try await KubeSimServer.start(directory: directory, runtime: runtime, options: options)
        let config = try KubeClientConfig.load(
            loader: KubeConfigLoader(environment: [:], explicitPath: server.kubeconfigPath))
        return KubeSimFixture(server: server, client: KubeClient(config: config), directory: directory)
    }

    static func run(
        profile: APIServerProfile = .current, _ body: (KubeSimFixture) async throws -> Void
    ) async throws {
        let fixture = try await start(profile: profile)
        do {
            try await body(fixture)
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }

    func stop() async {
        await server.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// kubesim stopped (every stream cut, every pod process gone) and, after `whileDown`, started again
    /// from the same directory on the same port: the same objects, resourceVersions, certificates and
    /// kubeconfig. Its kubelet starts the pods of the saved state again.
    func restarted(whileDown: () async throws -> Void = {}) async throws -> KubeSimFixture {
        await server.stop()
        try await whileDown()
        return try await Self.start(directory: directory, options: KubeSimServer.Options(port: server.port))
    }

    @discardableResult
    func apply(_ yaml: String) async throws -> [AppliedObject] {
        try await ManifestApplier(client: client).apply(yaml: yaml, source: "test manifest")
    }

    /// A namespace and a one-container pod running `command`.
    static func podManifest(
        namespace: String, name: String, command: String, volumes: String = "", mounts: String = ""
    ) -> String {
        """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: \(namespace)
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: \(name)
          namespace: \(namespace)
        spec:
          restartPolicy: Always
          containers:
          - name: app
            image: devloop/test
            command: ["sh", "-c", \(jsonString(command))]
        \(mounts)
        \(volumes)
        """
    }

    static func jsonString(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    func waitForRunningPod(_ namespace: String, _ name: String, timeout: Duration = .seconds(30)) async throws {
        try await waitUntil("pod \(namespace)/\(name) is Ready", timeout: timeout) {
            let pod = try? await client.get("/api/v1/namespaces/\(namespace)/pods/\(name)")
            return Self.isReady(pod)
        }
    }

    /// Pod `site` in `namespace`, serving the host folder `site` (mounted at /site) on port 8080
    /// with Python's http.server, applied and Ready; its target.
    @discardableResult
    func runSitePod(namespace: String, serving site: URL) async throws -> PodTarget {
        try await apply(
            Self.podManifest(
                namespace: namespace, name: "site", command: "exec python3 -m http.server 8080 --directory /site",
                volumes: "  volumes:\n  - name: site\n    hostPath: {path: \(site.path)}",
                mounts: "    volumeMounts:\n    - name: site\n      mountPath: /site"))
        try await waitForRunningPod(namespace, "site")
        let pod = try await client.get("/api/v1/namespaces/\(namespace)/pods/site")
        return PodTarget(namespace: namespace, name: "site", uid: pod[path: "metadata", "uid"]?.string ?? "")
    }

    static func isReady(_ pod: JSONValue?) -> Bool {
        (pod?[path: "status", "conditions"]?.array ?? []).contains {
            $0["type"]?.string == "Ready" && $0["status"]?.string == "True"
        }
    }
}

/// Polls until `condition` holds; fails the test loudly when it does not within `timeout`.
func waitUntil(_ what: String, timeout: Duration, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("timed out after \(timeout) waiting until \(what)")
    throw CancellationError()
}
