import Foundation
import Yams

/// The dev manifests of a config, read and scoped before anything is sent: every object is the dev
/// Namespace or lives in it. A folder means every `*.yaml`, `*.yml` and `*.json` in it (not its
/// subfolders), sorted by name; a kustomization folder is refused, since rendering one means running
/// kustomize.
public struct DevManifests: Sendable, Equatable {
    /// One object with where it was declared.
    public struct Object: Sendable, Equatable {
        /// `metadata.namespace` is set to the dev namespace for namespaced objects.
        public var value: JSONValue
        public var kind: String
        public var name: String
        /// Where its `metadata.name` is.
        public var file: String
        public var line: Int
        public var column: Int
        /// Where each field path (`spec.containers[0].image`) stands in `file`, so that a refusal by the
        /// API server, which names the field, can name the line too.
        public var places: [String: ConfigPlace] = [:]

        /// `field` as the API server names it, located at it or at its nearest parent in the file.
        public func error(field: String, _ message: String) -> ConfigError {
            var path = field
            while !path.isEmpty, places[path] == nil {
                path = String(path[..<(path.lastIndex(where: { $0 == "." || $0 == "[" }) ?? path.startIndex)])
            }
            let place = places[path] ?? ConfigPlace(line: line, column: column)
            return ConfigError(
                file: file, line: place.line, column: place.column, field: field.isEmpty ? "(object)" : field,
                message: message)
        }
    }

    public var namespace: String
    /// The dev Namespace first (when declared), then the rest in file order.
    public var objects: [Object]

    public var values: [JSONValue] { objects.map(\.value) }

    /// Blocking file I/O (each file at most 1 MiB): call it before the session's tasks start.
    public static func load(config: DevLoopConfig) throws -> DevManifests {
        try load(paths: config.manifests, namespace: config.namespace)
    }

    public static func load(paths: [String], namespace: String) throws -> DevManifests {
        var objects: [Object] = []
        for file in try paths.flatMap(files) {
            objects += try ManifestScope(namespace: namespace).objects(yaml: YAMLText.read(path: file), file: file)
        }
        return try DevManifests(namespace: namespace, ordered: objects)
    }

    /// Scopes one text (tests, stdin).
    public static func load(yaml: String, file: String, namespace: String) throws -> DevManifests {
        try DevManifests(
            namespace: namespace, ordered: ManifestScope(namespace: namespace).objects(yaml: yaml, file: file))
    }

    private init(namespace: String, ordered objects: [Object]) throws {
        var seen: [String: Object] = [:]
        for object in objects {
            let group = object.value["apiVersion"]?.string?.split(separator: "/").dropLast().joined() ?? ""
            let identity = "\(group)/\(object.kind)/\(object.name)"
            if let first = seen[identity] {
                throw ConfigError(
                    file: object.file, line: object.line, column: object.column, field: "metadata.name",
                    message: "\(object.kind)/\(object.name) is declared twice (first at \(first.file):\(first.line))")
            }
            seen[identity] = object
        }
        self.namespace = namespace
        self.objects = objects.filter { $0.kind == "Namespace" } + objects.filter { $0.kind != "Namespace" }
    }

    static let manifestExtensions: Set<String> = ["yaml", "yml", "json"]
    static let kustomizationFiles = ["kustomization.yaml", "kustomization.yml", "Kustomization"]

    static func files(_ path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw YAMLText.fileError(path, "does not exist")
        }
        guard isDirectory.boolValue else { return [path] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw YAMLText.fileError(path, "cannot be listed (\(error.localizedDescription))")
        }
        if let kustomization = names.first(where: kustomizationFiles.contains) {
            throw YAMLText.fileError(
                path + "/" + kustomization,
                "kustomization folders are not supported: render it (`kubectl kustomize DIR > dev.yaml`) "
                    + "and list that file, or list the plain manifest files")
        }
        let files = names.filter { manifestExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted().map { path + "/" + $0 }
            .filter {
                var folder: ObjCBool = false
                return FileManager.default.fileExists(atPath: $0, isDirectory: &folder) && !folder.boolValue
            }
        if files.isEmpty { throw YAMLText.fileError(path, "holds no .yaml, .yml or .json file") }
        return files
    }
}
