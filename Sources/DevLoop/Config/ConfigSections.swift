import Foundation

enum PodSectionLoader {
    static func pod(_ field: ConfigNode) throws -> PodSelection {
        let fields = try field.mapping(known: ["selector", "container", "readyTimeout"])
        let selector = try self.selector(field.required(fields, "selector"))
        let container = try fields["container"].map { field in
            let name = try field.nonEmptyString()
            if let problem = ConfigSyntax.dns1123Label(name) { throw field.error("`\(name)` \(problem)") }
            return name
        }
        let timeout = try fields["readyTimeout"].map { try ConfigLoader.duration($0) } ?? .seconds(600)
        return PodSelection(selector: selector, container: container, readyTimeout: timeout)
    }

    /// A YAML map, or the `a=b,c=d` form `kubectl -l` takes (equality only: the dev pod is one pod).
    static func selector(_ field: ConfigNode) throws -> [String: String] {
        var pairs: [(key: String, value: String, at: ConfigNode)] = []
        if let mapping = field.node.mapping {
            for (key, value) in mapping {
                let keyField = field.child(key, key.scalar?.string ?? "?")
                pairs.append((try keyField.string(), try field.child(value, keyField.string()).string(), keyField))
            }
        } else {
            let text = try field.string()
            for term in text.split(separator: ",", omittingEmptySubsequences: false) {
                let parts = term.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].contains("!") else {
                    throw field.error("`\(term)` is not `key=value` (the selector is `a=b,c=d` or a mapping)")
                }
                pairs.append(
                    (
                        parts[0].trimmingCharacters(in: .whitespaces), parts[1].trimmingCharacters(in: .whitespaces),
                        field
                    ))
            }
        }
        if pairs.isEmpty { throw field.error("must select by at least one label") }
        var selector: [String: String] = [:]
        for pair in pairs {
            if let problem = ConfigSyntax.labelKey(pair.key) ?? ConfigSyntax.labelValue(pair.value) {
                throw pair.at.error(problem)
            }
            if selector[pair.key] != nil { throw pair.at.error("label `\(pair.key)` is given twice") }
            selector[pair.key] = pair.value
        }
        return selector
    }
}

enum SyncSectionLoader {
    static func mappings(_ field: ConfigNode, root: String) throws -> [SyncMapping] {
        let entries = try field.sequence()
        if entries.isEmpty { throw field.error("must have at least one mapping (from, to)") }
        var mappings: [SyncMapping] = []
        for entry in entries {
            let fields = try entry.mapping(known: ["from", "to", "hostPath", "exclude", "podOwned"])
            let local = try ConfigLoader.existingFolder(entry.required(fields, "from"), relativeTo: root)
            let toField = try entry.required(fields, "to")
            let remote = try absolutePath(toField, what: "a path in the container")
            if remote == "/" { throw toField.error("must not be the container's root folder") }
            if let other = mappings.firstIndex(where: { overlaps($0.remote, remote) }) {
                throw toField.error("`\(remote)` overlaps sync[\(other)].to `\(mappings[other].remote)`")
            }
            let hostPath = try fields["hostPath"].map { try absolutePath($0, what: "a local folder") }
            let excludes = try fields["exclude"].map { try $0.strings() } ?? []
            let podOwned = try fields["podOwned"].map { try $0.strings() } ?? []
            mappings.append(
                SyncMapping(local: local, remote: remote, hostPath: hostPath, excludes: excludes, podOwned: podOwned))
        }
        return mappings
    }

    static func absolutePath(_ field: ConfigNode, what: String) throws -> String {
        let path = try field.nonEmptyString()
        guard path.hasPrefix("/") else { throw field.error("`\(path)` must be an absolute path (\(what))") }
        if path.split(separator: "/").contains("..") { throw field.error("`\(path)` must not contain `..`") }
        return LocalPath.absolute(path, against: "/")
    }

    private static func overlaps(_ a: String, _ b: String) -> Bool {
        a == b || a.hasPrefix(b + "/") || b.hasPrefix(a + "/")
    }
}

enum RestartSectionLoader {
    static func policy(_ field: ConfigNode) throws -> RestartPolicy {
        let fields = try field.mapping(known: ["paths", "build", "run"])
        let paths = try fields["paths"].map { try $0.strings() } ?? []
        let build = try fields["build"].map { try $0.nonEmptyString() }
        let run = try field.required(fields, "run").nonEmptyString()
        return RestartPolicy(paths: paths, build: build, run: run)
    }
}

enum ForwardSectionLoader {
    static func forwards(_ field: ConfigNode) throws -> [ForwardSpec] {
        var forwards: [ForwardSpec] = []
        for entry in try field.sequence() {
            let fields = try entry.mapping(known: ["local", "remote", "address", "waitTimeout"])
            let localField = try entry.required(fields, "local")
            let local = try port(localField)
            let remoteField = try entry.required(fields, "remote")
            let remote: PortReference
            if remoteField.tagName == .int {
                remote = .number(try port(remoteField))
            } else {
                let name = try remoteField.nonEmptyString()
                if let problem = ConfigSyntax.portName(name) { throw remoteField.error("`\(name)`: \(problem)") }
                remote = .name(name)
            }
            var address = "127.0.0.1"
            if let addressField = fields["address"] {
                address = try addressField.nonEmptyString()
                guard ConfigSyntax.isIPAddress(address) else {
                    throw addressField.error("`\(address)` must be an IP address, like 127.0.0.1 or ::1")
                }
            }
            if let other = forwards.firstIndex(where: { clash($0, address, local) }) {
                throw localField.error(
                    "port \(local) on \(address) is already forwarded by forwards[\(other)] (\(forwards[other].address))"
                )
            }
            let wait = try fields["waitTimeout"].map { try ConfigLoader.duration($0, allowZero: true) } ?? .seconds(30)
            forwards.append(ForwardSpec(address: address, localPort: local, remotePort: remote, waitTimeout: wait))
        }
        return forwards
    }

    static func port(_ field: ConfigNode) throws -> UInt16 {
        let value = try field.integer()
        guard (1...65535).contains(value) else { throw field.error("\(value) is not a port (1-65535)") }
        return UInt16(value)
    }

    /// A wildcard bind takes the port on every address, so it clashes with any other of the same port.
    private static func clash(_ spec: ForwardSpec, _ address: String, _ port: UInt16) -> Bool {
        spec.localPort == port
            && (spec.address == address || ConfigSyntax.isWildcard(spec.address) || ConfigSyntax.isWildcard(address))
    }
}
