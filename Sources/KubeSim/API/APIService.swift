import Foundation

/// The API server's semantics over the store: create, read, list, update, apply, patch and delete with
/// kube-apiserver's defaulting, validation, generations and error statuses. Transport-free, so tests and
/// controllers call it directly.
public final class APIService: Sendable {
    public let store: ObjectStore

    public init(store: ObjectStore) { self.store = store }

    func key(_ resource: ResourceType, _ namespace: String?, _ name: String) -> ObjectKey {
        ObjectKey(resource: resource, namespace: namespace ?? "", name: name)
    }

    public func get(_ resource: ResourceType, namespace: String?, name: String) async throws -> JSON {
        guard let object = await store.get(key(resource, namespace, name)) else {
            throw APIError.notFound(resource, name)
        }
        return VersionConversion.toServed(object, resource)
    }

    func list(
        _ resource: ResourceType, namespace: String?, labels: LabelSelector = .everything,
        fields: FieldSelector = .everything
    ) async -> JSON {
        let (items, version) = await store.list(resource, namespace: namespace)
        let selected = items.filter { labels.matches($0.labels) && fields.matches($0) }
        return [
            "kind": .string(resource.listKind), "apiVersion": .string(resource.apiVersion),
            "metadata": ["resourceVersion": .string(String(version))],
            "items": .array(selected.map { Self.listItem(VersionConversion.toServed($0, resource)) }),
        ]
    }

    /// List items carry no kind or apiVersion, as in kube-apiserver's typed lists.
    static func listItem(_ object: JSON) -> JSON {
        var item = object
        item["kind"] = nil
        item["apiVersion"] = nil
        return item
    }

    public func create(
        _ resource: ResourceType, namespace: String?, body: JSON, fieldManager: String? = nil, dryRun: Bool = false
    ) async throws -> JSON {
        if resource == .selfSubjectAccessReviews { return accessReview(body) }
        if resource == .selfSubjectRulesReviews { return rulesReview(body) }
        if resource != resource.storageVersion {
            try checkKind(resource, body)
            let stored = try await create(
                resource.storageVersion, namespace: namespace, body: VersionConversion.toStorage(body, resource),
                fieldManager: fieldManager, dryRun: dryRun)
            return VersionConversion.toServed(stored, resource)
        }
        var object = try prepareNew(resource, namespace: namespace, body: body)
        if let fieldManager {
            ManagedFieldsEntry.recordUpdate(
                manager: fieldManager, apiVersion: resource.apiVersion, time: Timestamps.format(Date()),
                changed: FieldSet(of: body), in: &object)
        }
        try await checkNamespace(resource, object)
        if dryRun {
            if await store.get(key(resource, object.namespace, object.name)) != nil {
                throw APIError.alreadyExists(resource, object.name)
            }
            return object
        }
        guard let stored = await store.insert(key(resource, object.namespace, object.name), object) else {
            throw APIError.alreadyExists(resource, object.name)
        }
        return stored
    }

    /// Fills what the server owns in a new object: identity, timestamps, generation, defaults.
    func prepareNew(_ resource: ResourceType, namespace: String?, body: JSON) throws -> JSON {
        guard body.objectValue != nil else { throw APIError.badRequest("the request body is not a JSON object") }
        var object = body
        try checkKind(resource, object)
        object["kind"] = .string(resource.kind)
        object["apiVersion"] = .string(resource.apiVersion)
        if resource.namespaced {
            let bodyNamespace = object.namespace
            if let namespace, !bodyNamespace.isEmpty, bodyNamespace != namespace {
                throw APIError.badRequest(
                    "the namespace of the provided object does not match the namespace sent on the request")
            }
            object[path: ["metadata", "namespace"]] = .string(namespace ?? bodyNamespace)
        } else {
            object[path: ["metadata", "namespace"]] = nil
        }
        if object.name.isEmpty, let prefix = object[path: ["metadata", "generateName"]]?.stringValue {
            object[path: ["metadata", "name"]] = .string(prefix + Names.randomSuffix())
        }
        object[path: ["metadata", "uid"]] = .string(UUID().uuidString.lowercased())
        object[path: ["metadata", "creationTimestamp"]] = .string(Timestamps.format(Date()))
        object[path: ["metadata", "resourceVersion"]] = nil
        object[path: ["metadata", "deletionTimestamp"]] = nil
        object[path: ["metadata", "managedFields"]] = nil
        if resource.subresources.contains("status") && resource != .namespaces { object["status"] = nil }
        if [.deployments, .replicaSets, .pods].contains(resource) || ResourceType.generationKinds.contains(resource) {
            object[path: ["metadata", "generation"]] = 1
        }
        if resource == .services, object[path: ["spec", "clusterIP"]] == nil,
            object[path: ["spec", "type"]] != "ExternalName"
        {
            let address = "10.96.\(Int.random(in: 1...254)).\(Int.random(in: 1...254))"
            object[path: ["spec", "clusterIP"]] = .string(address)
            object[path: ["spec", "clusterIPs"]] = [.string(address)]
        }
        Defaults.apply(&object, resource: resource)
        try Validation.validate(object, resource: resource)
        return object
    }

    func checkKind(_ resource: ResourceType, _ object: JSON) throws {
        if let kind = object["kind"]?.stringValue, !kind.isEmpty, kind != resource.kind {
            throw APIError.badRequest(
                "the API version in the data (\(object["apiVersion"]?.stringValue ?? "")) does not match the expected API version (\(resource.apiVersion))"
            )
        }
        if let apiVersion = object["apiVersion"]?.stringValue, !apiVersion.isEmpty, apiVersion != resource.apiVersion {
            throw APIError.badRequest(
                "the API version in the data (\(apiVersion)) does not match the expected API version (\(resource.apiVersion))"
            )
        }
    }

    /// New content needs a namespace that exists and is not being deleted.
    func checkNamespace(_ resource: ResourceType, _ object: JSON) async throws {
        guard resource.namespaced else { return }
        let namespace = object.namespace
        guard let found = await store.get(key(.namespaces, nil, namespace)) else {
            throw APIError.notFound(.namespaces, namespace)
        }
        if found.isTerminating {
            throw APIError.forbidden(
                resource, object.name,
                "unable to create new content in namespace \(namespace) because it is being terminated")
        }
    }

    /// Every authenticated user may do everything: kubesim has no RBAC.
    func accessReview(_ body: JSON) -> JSON {
        var review = body
        review["kind"] = "SelfSubjectAccessReview"
        review["apiVersion"] = "authorization.k8s.io/v1"
        review[path: ["metadata", "creationTimestamp"]] = nil
        review["status"] = ["allowed": true, "reason": "kubesim allows every authenticated user"]
        return review
    }

    /// `kubectl auth can-i --list`: every verb on every resource and every non-resource URL.
    func rulesReview(_ body: JSON) -> JSON {
        var review = body
        review["kind"] = "SelfSubjectRulesReview"
        review["apiVersion"] = "authorization.k8s.io/v1"
        review[path: ["metadata", "creationTimestamp"]] = nil
        review["status"] = [
            "resourceRules": [["verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]]],
            "nonResourceRules": [["verbs": ["*"], "nonResourceURLs": ["*"]]], "incomplete": false,
        ]
        return review
    }

    /// `kubectl auth whoami`: the user the request authenticated as, as its authenticator knows them.
    func selfReview(_ body: JSON, user: UserInfo) throws -> JSON {
        try checkKind(.selfSubjectReviews, body)
        var review: JSON = ["kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1"]
        review["metadata"] = body["metadata"] ?? [:]
        review[path: ["metadata", "creationTimestamp"]] = nil
        review["status"] = [
            "userInfo": ["username": .string(user.username), "groups": .array(user.groups.map { .string($0) })]
        ]
        return review
    }

    /// Carries the server-owned fields of `old` into an updated object and bumps the generation when
    /// anything outside metadata and status changed.
    func carryOver(from old: JSON, into new: inout JSON, resource: ResourceType, keepStatus: Bool) {
        new["kind"] = .string(resource.kind)
        new["apiVersion"] = .string(resource.apiVersion)
        for field in [
            "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace",
        ] {
            new[path: ["metadata", field]] = old[path: ["metadata", field]]
        }
        if keepStatus && resource.subresources.contains("status") { new["status"] = old["status"] }
        Defaults.apply(&new, resource: resource)
        if let generation = old[path: ["metadata", "generation"]]?.intValue, Self.spec(of: new) != Self.spec(of: old) {
            new[path: ["metadata", "generation"]] = .int(Int64(generation + 1))
        }
    }

    private static func spec(of object: JSON) -> JSON {
        var copy = object
        copy["metadata"] = nil
        copy["status"] = nil
        return copy
    }
}

enum Names {
    private static let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")

    /// Five characters of the alphabet kube-apiserver uses for generated names.
    static func randomSuffix(length: Int = 5) -> String {
        String((0..<length).map { _ in alphabet.randomElement()! })
    }

    /// rand.SafeEncodeString: every character mapped into the alphabet without vowels.
    static func safeEncode(_ text: String) -> String {
        String(text.utf8.map { alphabet[Int($0) % alphabet.count] })
    }

    /// The pod-template-hash label value: FNV-32a of the template, safely encoded.
    static func templateHash(_ template: JSON) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in template.encoded() {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return safeEncode(String(hash))
    }
}
