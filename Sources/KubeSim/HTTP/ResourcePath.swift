/// Where a request points: discovery, or a resource (collection, object, subresource).
enum Route: Equatable {
    case version
    case coreVersions
    case groupList
    case group(String)
    case resourceList(group: String, version: String)
    case resource(ResourcePath)
    case openAPI
    case health
    case unknown
}

struct ResourcePath: Equatable {
    var resource: ResourceType
    var namespace: String?
    var name: String?
    var subresource: String?
    /// The legacy `/api/v1/watch/...` form.
    var legacyWatch = false

    static func route(_ path: String) -> Route {
        let parts = path.split(separator: "/").map(String.init)
        switch parts.first {
        case "version": return .version
        case "healthz", "livez", "readyz": return .health
        case "openapi": return .openAPI
        case "api":
            if parts.count == 1 { return .coreVersions }
            guard parts[1] == "v1" else { return .unknown }
            if parts.count == 2 { return .resourceList(group: "", version: "v1") }
            return resource(group: "", version: "v1", Array(parts.dropFirst(2)))
        case "apis":
            if parts.count == 1 { return .groupList }
            if parts.count == 2 { return .group(parts[1]) }
            if parts.count == 3 { return .resourceList(group: parts[1], version: parts[2]) }
            return resource(group: parts[1], version: parts[2], Array(parts.dropFirst(3)))
        default: return .unknown
        }
    }

    private static func resource(group: String, version: String, _ parts: [String]) -> Route {
        var parts = parts
        var legacyWatch = false
        if parts.first == "watch" {
            legacyWatch = true
            parts.removeFirst()
        }
        func find(_ name: String) -> ResourceType? { ResourceType.find(group: group, version: version, name: name) }
        // namespaces/NS/RESOURCE[/NAME[/SUB]] for namespaced resources.
        if parts.count >= 3, parts[0] == "namespaces", let resource = find(parts[2]), resource.namespaced {
            guard parts.count <= 5 else { return .unknown }
            return .resource(
                ResourcePath(
                    resource: resource, namespace: parts[1], name: parts.count > 3 ? parts[3] : nil,
                    subresource: parts.count > 4 ? parts[4] : nil, legacyWatch: legacyWatch))
        }
        guard let first = parts.first, let resource = find(first), parts.count <= 3 else { return .unknown }
        return .resource(
            ResourcePath(
                resource: resource, namespace: nil, name: parts.count > 1 ? parts[1] : nil,
                subresource: parts.count > 2 ? parts[2] : nil, legacyWatch: legacyWatch))
    }
}
