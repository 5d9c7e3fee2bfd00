/// The discovery documents kubectl reads to map kinds to resources (the legacy, unaggregated form).
enum Discovery {
    /// The kinds `kubectl get all` lists, as kube-apiserver puts them in the `all` category.
    static let allCategory: [ResourceType] = [
        .pods, .services, .deployments, .replicaSets, .statefulSets, .jobs, .cronJobs, .horizontalPodAutoscalers,
        .daemonSets, .replicationControllers,
    ]

    static func version(_ profile: APIServerProfile = .current) -> JSON {
        [
            "major": "1", "minor": .string(profile.minor), "gitVersion": .string(profile.gitVersion),
            "gitCommit": "kubesim",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc",
            "platform": "linux/amd64",
        ]
    }

    static func coreVersions(port: Int) -> JSON {
        [
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string("127.0.0.1:\(port)")]],
        ]
    }

    static var groups: [String] {
        var seen: [String] = []
        for resource in ResourceType.all where !resource.group.isEmpty && !seen.contains(resource.group) {
            seen.append(resource.group)
        }
        return seen
    }

    static func group(_ name: String) -> JSON? {
        // The preferred version first (the one in `ResourceType.all`), then the others of the group.
        var versions: [String] = []
        for resource in ResourceType.served where resource.group == name && !versions.contains(resource.version) {
            versions.append(resource.version)
        }
        guard let preferred = versions.first else { return nil }
        let entries: [JSON] = versions.map { ["groupVersion": .string("\(name)/\($0)"), "version": .string($0)] }
        return [
            "kind": "APIGroup", "apiVersion": "v1", "name": .string(name), "versions": .array(entries),
            "preferredVersion": ["groupVersion": .string("\(name)/\(preferred)"), "version": .string(preferred)],
        ]
    }

    static func groupList() -> JSON {
        var list: [JSON] = []
        for name in groups {
            guard var group = group(name) else { continue }
            group["kind"] = nil
            group["apiVersion"] = nil
            list.append(group)
        }
        return ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(list)]
    }

    static func resourceList(group: String, version: String) -> JSON? {
        let resources = ResourceType.served.filter { $0.group == group && $0.version == version }
        guard !resources.isEmpty else { return nil }
        var entries: [JSON] = []
        for resource in resources {
            var entry: JSON = [
                "name": .string(resource.name), "singularName": .string(resource.singularName),
                "namespaced": .bool(resource.namespaced), "kind": .string(resource.kind),
                "verbs": .array(resource.verbs.map { .string($0) }),
            ]
            if !resource.shortNames.isEmpty { entry["shortNames"] = .array(resource.shortNames.map { .string($0) }) }
            if Self.allCategory.contains(resource) { entry["categories"] = ["all"] }
            entries.append(entry)
            for subresource in resource.subresources {
                let verbs: [JSON] =
                    switch subresource {
                    case "log": ["get"]
                    case "exec", "portforward", "attach": ["create", "get"]
                    case "token": ["create"]
                    default: ["get", "patch", "update"]
                    }
                let kind = subresource == "scale" ? "Scale" : subresource == "token" ? "TokenRequest" : resource.kind
                var sub: JSON = [
                    "name": .string("\(resource.name)/\(subresource)"), "singularName": "",
                    "namespaced": .bool(resource.namespaced), "kind": .string(kind), "verbs": .array(verbs),
                ]
                if subresource == "scale" {
                    sub["group"] = "autoscaling"
                    sub["version"] = "v1"
                }
                if subresource == "token" {
                    sub["group"] = "authentication.k8s.io"
                    sub["version"] = "v1"
                }
                entries.append(sub)
            }
        }
        return [
            "kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"), "resources": .array(entries),
        ]
    }
}
