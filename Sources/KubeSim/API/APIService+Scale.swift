import Foundation

/// The `scale` subresource of Deployments and ReplicaSets (`kubectl scale`): an autoscaling/v1 Scale.
extension APIService {
    func scale(_ resource: ResourceType, namespace: String?, name: String) async throws -> JSON {
        Self.scaleObject(try await get(resource, namespace: namespace, name: name))
    }

    /// Applies `change` to the Scale view of the object and stores the new `spec.replicas`.
    func updateScale(
        _ resource: ResourceType, namespace: String?, name: String, fieldManager: String, dryRun: Bool = false,
        _ change: @Sendable @escaping (JSON) throws -> JSON
    ) async throws -> JSON {
        let stored = try await update(
            resource, namespace: namespace, name: name, fieldManager: fieldManager, keepStatus: true, dryRun: dryRun
        ) { live in
            let scale = try change(Self.scaleObject(live))
            guard let replicas = scale[path: ["spec", "replicas"]]?.intValue, replicas >= 0 else {
                throw APIError.invalid(
                    resource, name,
                    [
                        .init(
                            reason: "FieldValueInvalid", message: "Invalid value: must be greater than or equal to 0",
                            field: "spec.replicas")
                    ])
            }
            var updated = live
            updated[path: ["spec", "replicas"]] = .int(Int64(replicas))
            return updated
        }
        return Self.scaleObject(stored)
    }

    static func scaleObject(_ object: JSON) -> JSON {
        let selector = LabelSelector(object: object[path: ["spec", "selector"]]).requirements.compactMap {
            requirement -> String? in
            if case .equals(let key, let value) = requirement { return "\(key)=\(value)" }
            return nil
        }
        var metadata: JSON = [:]
        for field in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
            metadata[field] = object[path: ["metadata", field]]
        }
        return [
            "kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": metadata,
            "spec": ["replicas": object[path: ["spec", "replicas"]] ?? 1],
            "status": [
                "replicas": object[path: ["status", "replicas"]] ?? 0,
                "selector": .string(selector.joined(separator: ",")),
            ],
        ]
    }
}
