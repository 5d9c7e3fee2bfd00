import Foundation

/// Where an object lives in the store.
public struct ObjectKey: Sendable, Hashable, Comparable {
    public var resource: String
    public var namespace: String
    public var name: String

    public init(resource: ResourceType, namespace: String, name: String) {
        self.resource = resource.qualifiedName
        self.namespace = resource.namespaced ? namespace : ""
        self.name = name
    }

    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
        (lhs.resource, lhs.namespace, lhs.name) < (rhs.resource, rhs.namespace, rhs.name)
    }
}

/// One change of the store, as a watch reports it. `previous` lets a filtered watch turn a change that
/// moves an object out of its selector into DELETED, as kube-apiserver's watch cache does.
public struct WatchEvent: Sendable {
    public enum Kind: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
        case bookmark = "BOOKMARK"
        case error = "ERROR"
    }

    public var kind: Kind
    public var key: ObjectKey
    public var object: JSON
    public var previous: JSON?
    public var resourceVersion: Int64
}

extension JSON {
    public var name: String { self[path: ["metadata", "name"]]?.stringValue ?? "" }
    public var namespace: String { self[path: ["metadata", "namespace"]]?.stringValue ?? "" }
    public var uid: String { self[path: ["metadata", "uid"]]?.stringValue ?? "" }
    public var labels: [String: String] {
        (self[path: ["metadata", "labels"]]?.objectValue ?? [:]).compactMapValues(\.stringValue)
    }
    public var isTerminating: Bool {
        if let stamp = self[path: ["metadata", "deletionTimestamp"]], !stamp.isNull { return true }
        return false
    }
    var ownerReferences: [JSON] { self[path: ["metadata", "ownerReferences"]]?.arrayValue ?? [] }
    var controllerUID: String? {
        ownerReferences.first { $0["controller"]?.boolValue == true }?["uid"]?.stringValue
    }
}
