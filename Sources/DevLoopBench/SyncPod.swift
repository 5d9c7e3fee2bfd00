import DevLoop
import Foundation

/// The pod the sync benchmarks write into: /app is a hostPath folder of this machine, so that what
/// each side delivered is checked by reading the folder, and HostPath, exec+tar and `kubectl cp` all
/// land in the same pod.
struct SyncPod {
    static let namespace = "default"
    static let name = "bench-sync"
    static let container = "dev"
    let cluster: BenchCluster
    /// The host folder behind the pod's /app.
    let hostPath: String

    var executor: PodExecutor {
        PodExecutor(client: cluster.client, namespace: Self.namespace, pod: Self.name, container: Self.container)
    }

    static func start(in cluster: BenchCluster) async throws -> SyncPod {
        let hostPath = cluster.directory.appendingPathComponent("node/sync").path
        try FileManager.default.createDirectory(atPath: hostPath, withIntermediateDirectories: true)
        let manifest = cluster.directory.appendingPathComponent("sync-pod.json")
        try Data(Self.manifest(hostPath: hostPath).utf8).write(to: manifest)
        let kubectl = cluster.kubectl
        try await kubectl.check(["apply", "-f", manifest.path])
        try await kubectl.check([
            "-n", namespace, "wait", "--for=condition=Ready", "pod/\(name)", "--timeout=120s",
        ])
        return SyncPod(cluster: cluster, hostPath: hostPath)
    }

    /// A pod that only waits (JSON, which is YAML), its /app the host folder.
    static func manifest(hostPath: String) -> String {
        let object: [String: Any] = [
            "apiVersion": "v1", "kind": "Pod", "metadata": ["name": name, "namespace": namespace],
            "spec": [
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    [
                        "name": container, "image": "debian:bookworm", "command": ["sleep", "infinity"],
                        "volumeMounts": [["name": "app", "mountPath": "/app"]],
                    ]
                ],
                "volumes": [["name": "app", "hostPath": ["path": hostPath, "type": "DirectoryOrCreate"]]],
            ],
        ]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// `kubectl cp LOCAL default/bench-sync:/app/REMOTE`, timed from its start to its exit (kubectl
    /// exits once the pod's `tar -x` has ended): milliseconds.
    func kubectlCopy(_ local: String, to remote: String) async throws -> Double {
        let start = ContinuousClock.now
        try await cluster.kubectl.check([
            "cp", local, "\(Self.namespace)/\(Self.name):/app/\(remote)", "-c", Self.container,
        ])
        return milliseconds(since: start)
    }

    /// Whether the file at `path` under the pod's /app holds `content`: a side that was fast because it
    /// delivered nothing (or half a file) must not count.
    func holds(_ path: String, _ content: String) throws -> Bool {
        FileManager.default.contents(atPath: hostPath + "/" + path) == Data(content.utf8)
    }

    /// Fails unless the tree at `path` under the pod's /app is byte for byte `source`.
    func expectTree(_ path: String, equals source: String) throws {
        let destination = hostPath + "/" + path
        let files = FileManager.default
        guard let entries = files.enumerator(atPath: source) else { throw BenchError("cannot list \(source)") }
        var count = 0
        for case let entry as String in entries {
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: source + "/" + entry, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            count += 1
            guard files.contentsEqual(atPath: source + "/" + entry, andPath: destination + "/" + entry) else {
                throw BenchError("/app/\(path)/\(entry) in the pod differs from \(source)/\(entry)")
            }
        }
        guard count > 0 else { throw BenchError("no files in \(source)") }
    }
}
