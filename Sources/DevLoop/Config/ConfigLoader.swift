import Foundation
import Yams

/// Reads `dev/devloop.yaml` into a `DevLoopConfig`. Every problem is a `ConfigError` naming
/// `FILE:LINE:COLUMN: field: what is wrong`; the loader stops at the first one, in file order of
/// the checks (top-level keys, then each section as listed in the model), so a fixed error shows the
/// next. Local paths are checked here too, so nothing reaches a cluster from a config that cannot work.
public enum ConfigLoader {
    public static let defaultPath = "dev/devloop.yaml"

    static let topLevelKeys = ["root", "namespace", "manifests", "pod", "sync", "restart", "forwards", "transport"]

    /// Blocking file I/O (bounded to 1 MiB): call it before the session's tasks start.
    public static func load(path: String) throws -> DevLoopConfig {
        let file = LocalPath.absolute(path, against: FileManager.default.currentDirectoryPath)
        return try load(yaml: YAMLText.read(path: file), file: file)
    }

    /// `file` is absolute: relative paths in the text resolve against its folder.
    public static func load(yaml: String, file: String) throws -> DevLoopConfig {
        let documents = try YAMLText.documents(yaml, file: file)
        guard let document = documents.first else {
            throw YAMLText.fileError(file, "is empty: it needs at least `namespace`, `manifests`, `pod` and `sync`")
        }
        if documents.count > 1 {
            let second = ConfigNode(node: documents[1], path: ConfigError.wholeFile, file: file)
            throw second.error("holds more than one YAML document; devloop.yaml is one mapping")
        }
        let top = ConfigNode(node: document, path: "", file: file)
        guard top.node.mapping != nil else {
            throw ConfigError(
                file: file, line: top.line, column: top.column, field: "(top level)",
                message:
                    "must be a mapping of devloop.yaml keys (namespace, manifests, pod, sync, ...), not \(top.kindDescription)"
            )
        }
        let fields = try top.mapping(known: topLevelKeys)
        let folder = (file as NSString).deletingLastPathComponent
        let root = try fields["root"].map { try existingFolder($0, relativeTo: folder) } ?? folder
        let namespaceField = try top.required(fields, "namespace")
        let namespace = try namespace(namespaceField)
        let manifests = try manifests(top.required(fields, "manifests"), root: root)
        let pod = try PodSectionLoader.pod(top.required(fields, "pod"))
        let sync = try SyncSectionLoader.mappings(top.required(fields, "sync"), root: root)
        let restart = try fields["restart"].map(RestartSectionLoader.policy)
        let forwards = try fields["forwards"].map(ForwardSectionLoader.forwards) ?? [ForwardSpec()]
        let transport = try fields["transport"].map(transport) ?? .auto
        var config = DevLoopConfig(
            file: file, root: root, namespace: namespace, manifests: manifests, pod: pod, sync: sync,
            restart: restart, forwards: forwards, transport: transport)
        config.namespacePlace = ConfigPlace(line: namespaceField.line, column: namespaceField.column)
        return config
    }

    static func namespace(_ field: ConfigNode) throws -> String {
        let name = try field.string()
        if let problem = ConfigSyntax.dns1123Label(name) { throw field.error("`\(name)` \(problem)") }
        if name == "default" || name.hasPrefix("kube-") {
            throw field.error("`\(name)` is not a dev namespace: devloop never works in `default` or `kube-*`")
        }
        return name
    }

    static func manifests(_ field: ConfigNode, root: String) throws -> [String] {
        let entries = try field.sequence()
        if entries.isEmpty { throw field.error("must list at least one manifest file or folder") }
        return try entries.map { entry in
            let path = LocalPath.absolute(try entry.nonEmptyString(), against: root)
            guard FileManager.default.fileExists(atPath: path) else {
                throw entry.error("`\(path)` does not exist")
            }
            return path
        }
    }

    static func transport(_ field: ConfigNode) throws -> TransportChoice {
        let text = try field.string()
        guard let choice = TransportChoice(rawValue: text) else {
            let names = TransportChoice.allCases.map(\.rawValue)
            throw field.error("`\(text)` is not a transport; use one of \(names.joined(separator: ", "))")
        }
        return choice
    }

    static func existingFolder(_ field: ConfigNode, relativeTo base: String) throws -> String {
        let path = LocalPath.absolute(try field.nonEmptyString(), against: base)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw field.error("the folder `\(path)` does not exist")
        }
        guard isDirectory.boolValue else { throw field.error("`\(path)` is a file, not a folder") }
        return path
    }

    static func duration(_ field: ConfigNode, allowZero: Bool = false) throws -> Duration {
        if field.tagName == .int || field.tagName == .float {
            throw field.error("a duration needs a unit, like 30s, 10m or 1m30s")
        }
        let text = try field.string()
        guard let duration = ConfigSyntax.duration(text) else {
            throw field.error("`\(text)` is not a duration (like 250ms, 30s, 10m, 1h or 1m30s, at most 168h)")
        }
        if duration == .zero && !allowZero { throw field.error("must be longer than 0") }
        return duration
    }
}

/// Lexical path handling: the loader reports the path the user meant, without resolving symlinks.
enum LocalPath {
    static func absolute(_ path: String, against base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        var parts: [Substring] = []
        for part in joined.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}
