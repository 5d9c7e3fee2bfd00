import Foundation

/// Keeps the store in one JSON file so that objects and the resourceVersion counter survive a restart.
public struct StorePersistence: Sendable {
    public struct Saved: Sendable {
        var resourceVersion: Int64
        var objects: [(key: ObjectKey, object: JSON)]
    }

    public let file: URL

    public init(file: URL) { self.file = file }

    /// nil when there is no state yet; throws, naming the file, when it cannot be read back (rather than
    /// starting empty and overwriting it).
    func load() throws -> Saved? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        let state: JSON
        do {
            state = try JSON.parse(try Data(contentsOf: file))
        } catch {
            throw KubeSimError.configuration("\(file.path): not a readable kubesim state file: \(error)")
        }
        guard state["objects"]?.arrayValue != nil, state["resourceVersion"]?.intValue != nil else {
            throw KubeSimError.configuration("\(file.path): not a kubesim state file (no objects or resourceVersion)")
        }
        let version = Int64(state["resourceVersion"]?.intValue ?? 0)
        var objects: [(key: ObjectKey, object: JSON)] = []
        for entry in state["objects"]?.arrayValue ?? [] {
            guard let resourceName = entry["resource"]?.stringValue, let object = entry["object"],
                let resource = ResourceType.stored.first(where: { $0.qualifiedName == resourceName })
            else { continue }
            objects.append((ObjectKey(resource: resource, namespace: object.namespace, name: object.name), object))
        }
        return Saved(resourceVersion: version, objects: objects)
    }

    func save(resourceVersion: Int64, objects: [ObjectKey: JSON]) {
        let entries = objects.sorted { $0.key < $1.key }.map { key, object -> JSON in
            ["resource": .string(key.resource), "object": object]
        }
        let state: JSON = ["resourceVersion": .int(resourceVersion), "objects": .array(entries)]
        try? state.encoded().write(to: file, options: .atomic)
    }
}
