import Foundation

/// Rolls each Deployment onto a ReplicaSet named after the pod template's hash: a changed template
/// gets a new ReplicaSet, and the old ones shrink as the new pods become available.
struct DeploymentController {
    let api: APIService

    func reconcile() async {
        let store = api.store
        let deployments = await store.list(.deployments, namespace: nil).items
        guard !deployments.isEmpty else { return }
        let sets = await store.list(.replicaSets, namespace: nil).items
        for deployment in deployments where !deployment.isTerminating {
            let owned = sets.filter { $0.namespace == deployment.namespace && $0.controllerUID == deployment.uid }
            await reconcile(deployment, owned: owned)
        }
    }

    private func reconcile(_ deployment: JSON, owned: [JSON]) async {
        let replicas = deployment[path: ["spec", "replicas"]]?.intValue ?? 1
        let template = deployment[path: ["spec", "template"]] ?? [:]
        let hash = Names.templateHash(template)
        let revisions = owned.map { Self.revision($0) }
        var current = owned.first { $0[path: ["metadata", "labels", "pod-template-hash"]]?.stringValue == hash }
        // A paused Deployment does not roll: a changed template makes no ReplicaSet, the newest one scales.
        if deployment[path: ["spec", "paused"]]?.boolValue == true, current == nil {
            current = owned.max { Self.revision($0) < Self.revision($1) }
        } else if current == nil {
            current = await createReplicaSet(deployment, hash: hash, revision: (revisions.max() ?? 0) + 1)
        }
        guard let current else { return }
        await scale(current, to: replicas, for: deployment)
        await api.store.modify(
            ObjectKey(resource: .deployments, namespace: deployment.namespace, name: deployment.name)
        ) {
            object in
            object[path: ["metadata", "annotations", "deployment.kubernetes.io/revision"]] = .string(
                String(Self.revision(current)))
        }
        // Old pods go as new ones become available (a surge of the whole new set, no unavailability).
        let newAvailable = current[path: ["status", "availableReplicas"]]?.intValue ?? 0
        var oldBudget = max(0, replicas - newAvailable)
        for old in owned.filter({ $0.uid != current.uid }).sorted(by: { Self.revision($0) > Self.revision($1) }) {
            let keep = min(oldBudget, old[path: ["spec", "replicas"]]?.intValue ?? 0)
            oldBudget -= keep
            await scale(old, to: keep, for: deployment)
        }
        await updateStatus(
            deployment, newSet: current, all: owned.contains { $0.uid == current.uid } ? owned : owned + [current])
        await pruneHistory(deployment, old: owned.filter { $0.uid != current.uid })
    }

    /// Sets a ReplicaSet's replicas, with the ScalingReplicaSet event a deployment controller records.
    private func scale(_ set: JSON, to replicas: Int, for deployment: JSON) async {
        let before = set[path: ["spec", "replicas"]]?.intValue ?? 0
        let key = ObjectKey(resource: .replicaSets, namespace: set.namespace, name: set.name)
        await api.store.modify(key) { object in object[path: ["spec", "replicas"]] = .int(Int64(replicas)) }
        guard before != replicas else { return }
        let direction = replicas > before ? "up" : "down"
        await EventRecorder(api: api).record(
            deployment, kind: "Deployment", apiVersion: "apps/v1", reason: "ScalingReplicaSet",
            message: "Scaled \(direction) replica set \(set.name) from \(before) to \(replicas)",
            component: "deployment-controller")
    }

    /// Scaled-down ReplicaSets beyond `revisionHistoryLimit` go, oldest first.
    private func pruneHistory(_ deployment: JSON, old: [JSON]) async {
        let limit = deployment[path: ["spec", "revisionHistoryLimit"]]?.intValue ?? 10
        let idle = old.filter {
            $0[path: ["spec", "replicas"]]?.intValue == 0 && ($0[path: ["status", "replicas"]]?.intValue ?? 0) == 0
        }.sorted { Self.revision($0) > Self.revision($1) }
        for set in idle.dropFirst(limit) {
            _ = try? await api.delete(.replicaSets, namespace: set.namespace, name: set.name, options: DeleteOptions())
        }
    }

    static func revision(_ set: JSON) -> Int {
        set[path: ["metadata", "annotations", "deployment.kubernetes.io/revision"]]?.intValue ?? 0
    }

    private func createReplicaSet(_ deployment: JSON, hash: String, revision: Int) async -> JSON? {
        var template = deployment[path: ["spec", "template"]] ?? [:]
        template[path: ["metadata", "labels", "pod-template-hash"]] = .string(hash)
        var selector = deployment[path: ["spec", "selector"]] ?? [:]
        selector[path: ["matchLabels", "pod-template-hash"]] = .string(hash)
        let set: JSON = [
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": [
                "name": .string("\(deployment.name)-\(hash)"), "namespace": .string(deployment.namespace),
                "labels": template[path: ["metadata", "labels"]] ?? [:],
                "annotations": [
                    "deployment.kubernetes.io/revision": .string(String(revision)),
                    "deployment.kubernetes.io/desired-replicas": .string(
                        String(deployment[path: ["spec", "replicas"]]?.intValue ?? 1)),
                ],
                "ownerReferences": [ReplicaSetController.ownerReference(deployment, kind: "Deployment")],
            ],
            "spec": [
                // Scaled up by `scale`, which records the event.
                "replicas": 0, "selector": selector, "template": template,
            ],
        ]
        return try? await api.create(.replicaSets, namespace: deployment.namespace, body: set)
    }

    private func updateStatus(_ deployment: JSON, newSet: JSON, all: [JSON]) async {
        func sum(_ field: String) -> Int { all.reduce(0) { $0 + ($1[path: ["status", field]]?.intValue ?? 0) } }
        let replicas = deployment[path: ["spec", "replicas"]]?.intValue ?? 1
        let total = sum("replicas")
        let available = sum("availableReplicas")
        let updated = newSet[path: ["status", "replicas"]]?.intValue ?? 0
        let complete = updated == replicas && total == replicas && available >= replicas
        let maxUnavailable = replicas / 4
        var status: JSON = [
            "observedGeneration": deployment[path: ["metadata", "generation"]] ?? 1, "replicas": .int(Int64(total)),
            "updatedReplicas": .int(Int64(updated)),
        ]
        if sum("readyReplicas") > 0 { status["readyReplicas"] = .int(Int64(sum("readyReplicas"))) }
        if available > 0 { status["availableReplicas"] = .int(Int64(available)) }
        if total - available > 0 { status["unavailableReplicas"] = .int(Int64(total - available)) }
        let key = ObjectKey(resource: .deployments, namespace: deployment.namespace, name: deployment.name)
        await api.store.modify(key) { object in
            let previous = object[path: ["status", "conditions"]]?.arrayValue ?? []
            let minimum = available >= replicas - maxUnavailable
            status["conditions"] = .array([
                Conditions.make(
                    "Available", minimum, reason: minimum ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                    message: minimum
                        ? "Deployment has minimum availability." : "Deployment does not have minimum availability.",
                    previous: previous),
                Conditions.make(
                    "Progressing", true, reason: complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
                    message: complete
                        ? "ReplicaSet \"\(newSet.name)\" has successfully progressed."
                        : "ReplicaSet \"\(newSet.name)\" is progressing.",
                    previous: previous),
            ])
            object["status"] = status
        }
    }
}

enum Conditions {
    /// A condition whose lastTransitionTime changes only when its status does.
    static func make(_ type: String, _ value: Bool, reason: String?, message: String?, previous: [JSON]) -> JSON {
        let status: JSON = value ? "True" : "False"
        let old = previous.first { $0["type"]?.stringValue == type }
        let now = JSON.string(Timestamps.format(Date()))
        var condition: JSON = [
            "type": .string(type), "status": status,
            "lastTransitionTime": old?["status"] == status ? (old?["lastTransitionTime"] ?? now) : now,
        ]
        if type == "Available" || type == "Progressing" {
            condition["lastUpdateTime"] =
                old?["status"] == status && old?["reason"]?.stringValue == reason
                ? (old?["lastUpdateTime"] ?? now) : now
        }
        if let reason { condition["reason"] = .string(reason) }
        if let message { condition["message"] = .string(message) }
        return condition
    }
}
