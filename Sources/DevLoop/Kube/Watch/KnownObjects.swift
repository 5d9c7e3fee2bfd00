/// The objects a watcher has reported, by namespace/name, so that a relist can report what vanished
/// while the watch was down (client-go's DeltaFIFO.Replace turns missing keys into deletions).
struct KnownObjects: Sendable {
    private var objects: [String: JSONValue] = [:]

    mutating func record(_ event: WatchEvent) {
        let key = Self.key(event.object)
        if event.kind == .deleted {
            objects[key] = nil
        } else {
            objects[key] = event.object
        }
    }

    /// The last known state of every object missing from a fresh list, in a stable order.
    func missing(from items: [JSONValue]) -> [JSONValue] {
        let listed = Set(items.map(Self.key))
        return objects.filter { !listed.contains($0.key) }.sorted { $0.key < $1.key }.map(\.value)
    }

    static func key(_ object: JSONValue) -> String {
        let namespace = object[path: "metadata", "namespace"]?.string ?? ""
        return namespace + "/" + (object[path: "metadata", "name"]?.string ?? "")
    }
}
