import DevLoop
import Foundation

/// Every object the API server lists, found through discovery (so a kind added to kubesim is
/// covered without touching this), each as `group/resource namespace/name` → `uid resourceVersion`.
/// Two equal snapshots mean nothing was created, changed or deleted in between.
struct ClusterSnapshot: Equatable {
    var objects: [String: String]

    static func take(_ client: KubeClient) async throws -> ClusterSnapshot {
        var objects: [String: String] = [:]
        for (prefix, label) in try await listablePaths(client) {
            let list = try await client.get(prefix)
            for item in list["items"]?.array ?? [] {
                let namespace = item[path: "metadata", "namespace"]?.string ?? "-"
                let name = item[path: "metadata", "name"]?.string ?? "?"
                objects["\(label) \(namespace)/\(name)"] =
                    "\(item[path: "metadata", "uid"]?.string ?? "?") \(item[path: "metadata", "resourceVersion"]?.string ?? "?")"
            }
        }
        return ClusterSnapshot(objects: objects)
    }

    /// The list path (all namespaces) and a label of every top-level resource with the `list` verb.
    private static func listablePaths(_ client: KubeClient) async throws -> [(String, String)] {
        var versions = ["/api/v1"]
        let groups = try await client.get("/apis")
        for group in groups["groups"]?.array ?? [] {
            if let version = group[path: "preferredVersion", "groupVersion"]?.string {
                versions.append("/apis/" + version)
            }
        }
        var paths: [(String, String)] = []
        for version in versions {
            let list = try await client.get(version)
            for resource in list["resources"]?.array ?? [] {
                guard let name = resource["name"]?.string, !name.contains("/"),
                    resource["verbs"]?.array?.contains(.string("list")) == true
                else { continue }
                paths.append(("\(version)/\(name)", "\(version.dropFirst())/\(name)"))
            }
        }
        return paths
    }

    /// What differs from `other`, one line per object, for a failure message.
    func difference(from other: ClusterSnapshot) -> String {
        let keys = Set(objects.keys).union(other.objects.keys).sorted()
        return keys.filter { objects[$0] != other.objects[$0] }.map {
            "\($0): \(other.objects[$0] ?? "absent") -> \(objects[$0] ?? "absent")"
        }.joined(separator: "\n")
    }
}
