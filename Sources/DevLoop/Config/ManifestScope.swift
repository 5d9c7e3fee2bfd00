import Yams

/// The checks of one manifest text against the dev namespace, with the node marks for the errors.
struct ManifestScope {
    let namespace: String
    /// Nodes one file may expand to (aliases count each time they are used), and nesting depth.
    static let nodeBudget = 200_000
    static let maxDepth = 100

    func objects(yaml: String, file: String) throws -> [DevManifests.Object] {
        let documents = try YAMLText.documents(yaml, file: file)
        var budget = Self.nodeBudget
        var objects: [DevManifests.Object] = []
        for (index, document) in documents.enumerated() {
            let place = ConfigNode(node: document, path: "(document \(index + 1))", file: file)
            if place.isNull { continue }
            guard let mapping = document.mapping else {
                throw place.error("must be a Kubernetes object (a mapping), not \(place.kindDescription)")
            }
            var fields: [String: JSONValue] = [:]
            for (key, value) in mapping {
                let field = ConfigNode(node: value, path: key.scalar?.string ?? "?", file: file)
                guard let name = key.scalar?.string else { throw field.error("a key must be a plain name") }
                fields[name] = try BoundedJSON.convert(value, budget: &budget, depth: 1, at: field)
            }
            let value = JSONValue.object(fields)
            var object = try scoped(value, document: document, index: index + 1, file: file)
            Self.collectPlaces(document, path: "", into: &object.places)
            objects.append(object)
        }
        if objects.isEmpty { throw YAMLText.fileError(file, "contains no objects") }
        return objects
    }

    private func scoped(_ value: JSONValue, document: Node, index: Int, file: String) throws -> DevManifests.Object {
        let top = ConfigNode(node: document, path: "", file: file)
        func field(_ path: [String]) -> ConfigNode? {
            var node = top
            for name in path {
                guard let child = node.node.mapping?[name] else { return nil }
                node = node.child(child, name)
            }
            return node
        }
        let label = "document \(index)"
        for required in ["apiVersion", "kind"] {
            guard let node = field([required]) else {
                throw ConfigError(
                    file: file, line: top.line, column: top.column, field: required, message: "\(label): is missing")
            }
            let text = try node.string()
            if text.isEmpty { throw node.error("\(label): must not be empty") }
        }
        let kind = value["kind"]!.string!
        guard let metadata = field(["metadata"]) else {
            throw ConfigError(
                file: file, line: top.line, column: top.column, field: "metadata",
                message: "\(kind) (\(label)): is missing")
        }
        guard metadata.node.mapping != nil else {
            throw metadata.error("must be a mapping, not \(metadata.kindDescription)")
        }
        guard let nameNode = field(["metadata", "name"]) else {
            throw ConfigError(
                file: file, line: metadata.line, column: metadata.column, field: "metadata.name",
                message: "\(kind) (\(label)): is missing (generateName is not supported)")
        }
        let name = try nameNode.nonEmptyString()
        let object = "\(kind)/\(name)"
        var value = value
        let place = DevManifests.Object(
            value: value, kind: kind, name: name, file: file, line: nameNode.line, column: nameNode.column)

        if kind == "List" || kind.hasSuffix("List") && value["items"] != nil {
            throw field(["kind"])!.error("\(object): a List is not supported; write each object as its own document")
        }
        if kind == "Namespace" {
            guard name == namespace else {
                throw nameNode.error("\(object): the only Namespace the dev manifests may declare is `\(namespace)`")
            }
            value = Self.labelled(value)
            return DevManifests.Object(
                value: value, kind: kind, name: name, file: file, line: place.line, column: place.column)
        }
        if ClusterScopedKinds.builtIn.contains(kind) {
            throw field(["kind"])!.error(
                "\(object) is cluster-scoped: the dev manifests may hold only objects in the namespace `\(namespace)`")
        }
        if let namespaceNode = field(["metadata", "namespace"]) {
            let declared = try namespaceNode.string()
            guard declared == namespace else {
                throw namespaceNode.error(
                    "\(object) is in namespace `\(declared)`, not the dev namespace `\(namespace)`")
            }
        } else if !NamespacedKinds.builtIn.contains(kind) {
            throw metadata.error(
                "\(object): kind \(kind) is not a built-in one, so devloop cannot tell whether it is namespaced; "
                    + "give `metadata.namespace: \(namespace)` explicitly")
        } else {
            value = Self.setting(value, namespace: namespace)
        }
        return DevManifests.Object(
            value: value, kind: kind, name: name, file: file, line: place.line, column: place.column)
    }

    /// The place of every field (its key) and list item, by the field path the API server uses
    /// (`spec.containers[0].image`); depth is bounded by the conversion's check above.
    static func collectPlaces(_ node: Node, path: String, into places: inout [String: ConfigPlace]) {
        func place(_ node: Node) -> ConfigPlace {
            ConfigPlace(line: max(node.mark?.line ?? 1, 1), column: max(node.mark?.column ?? 1, 1))
        }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { continue }
                let child = path.isEmpty ? name : path + "." + name
                places[child] = place(key)
                collectPlaces(value, path: child, into: &places)
            }
        case .sequence(let sequence):
            for (index, item) in sequence.enumerated() {
                places["\(path)[\(index)]"] = place(item)
                collectPlaces(item, path: "\(path)[\(index)]", into: &places)
            }
        default:
            break
        }
    }

    /// The declared dev Namespace keeps the label that marks it, whatever the manifest says.
    static func labelled(_ value: JSONValue) -> JSONValue {
        guard case .object(var fields) = value, case .object(var metadata)? = fields["metadata"] else { return value }
        var labels = metadata["labels"]?.object ?? [:]
        labels[DevLoopConfig.devLabel.key] = .string(DevLoopConfig.devLabel.value)
        metadata["labels"] = .object(labels)
        fields["metadata"] = .object(metadata)
        return .object(fields)
    }

    static func setting(_ value: JSONValue, namespace: String) -> JSONValue {
        guard case .object(var fields) = value, case .object(var metadata)? = fields["metadata"] else { return value }
        metadata["namespace"] = .string(namespace)
        fields["metadata"] = .object(metadata)
        return .object(fields)
    }
}

/// Node → JSONValue as `YAMLDocuments` does it, but counting every node it visits (an alias counts
/// each time it is used) and the depth, so an alias bomb or a deep document fails instead of eating
/// memory or the stack. Errors name the top-level field they happened under (`place`), where the
/// user can act; the path inside an expanded alias would mean nothing to them.
enum BoundedJSON {
    static func convert(_ node: Node, budget: inout Int, depth: Int, at place: ConfigNode) throws -> JSONValue {
        budget -= 1
        if budget < 0 {
            throw place.error(
                "expands to more than \(ManifestScope.nodeBudget) values (aliases count each time they are used): too big for a manifest"
            )
        }
        if depth > ManifestScope.maxDepth {
            throw place.error("is nested more than \(ManifestScope.maxDepth) levels deep")
        }
        switch node {
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { throw place.error("holds a key that is not a plain name") }
                object[name] = try convert(value, budget: &budget, depth: depth + 1, at: place)
            }
            return .object(object)
        case .sequence(let sequence):
            var array: [JSONValue] = []
            array.reserveCapacity(sequence.count)
            for element in sequence {
                array.append(try convert(element, budget: &budget, depth: depth + 1, at: place))
            }
            return .array(array)
        case .scalar, .alias:
            return JSONValue(node: node)
        }
    }
}
