import Foundation

/// Keeps `spec.replicas` pods of each ReplicaSet alive: new pods `NAME-xxxxx` from the template, surplus
/// pods deleted (not-ready and newest first), and the ReplicaSet's status counts.
struct ReplicaSetController {
    let api: APIService

    func reconcile() async {
        let store = api.store
        let sets = await store.list(.replicaSets, namespace: nil).items
        guard !sets.isEmpty else { return }
        let pods = await store.list(.pods, namespace: nil).items
        for set in sets where !set.isTerminating {
            let owned = pods.filter { $0.namespace == set.namespace && $0.controllerUID == set.uid }
            let active = owned.filter(PodState.isActive)
            let desired = set[path: ["spec", "replicas"]]?.intValue ?? 1
            if active.count < desired {
                for _ in active.count..<desired { await createPod(for: set) }
            } else if active.count > desired {
                let surplus = active.sorted { first, second in
                    let (firstReady, secondReady) = (PodState.isReady(first), PodState.isReady(second))
                    if firstReady != secondReady { return !firstReady }
                    return PodState.created(first) > PodState.created(second)
                }.prefix(active.count - desired)
                for pod in surplus {
                    _ = try? await api.delete(.pods, namespace: pod.namespace, name: pod.name, options: DeleteOptions())
                }
            }
            await updateStatus(set, active: Array(active.prefix(desired)))
        }
    }

    private func createPod(for set: JSON) async {
        var pod: JSON = ["apiVersion": "v1", "kind": "Pod"]
        let template = set[path: ["spec", "template"]] ?? [:]
        pod["metadata"] = template["metadata"] ?? [:]
        pod["spec"] = template["spec"] ?? [:]
        pod[path: ["metadata", "name"]] = .string(set.name + "-" + Names.randomSuffix())
        pod[path: ["metadata", "namespace"]] = .string(set.namespace)
        pod[path: ["metadata", "ownerReferences"]] = [Self.ownerReference(set, kind: "ReplicaSet")]
        _ = try? await api.create(.pods, namespace: set.namespace, body: pod)
    }

    static func ownerReference(_ owner: JSON, kind: String) -> JSON {
        [
            "apiVersion": "apps/v1", "kind": .string(kind), "name": .string(owner.name), "uid": .string(owner.uid),
            "controller": true, "blockOwnerDeletion": true,
        ]
    }

    private func updateStatus(_ set: JSON, active: [JSON]) async {
        let ready = active.filter(PodState.isReady).count
        var status: JSON = [
            "replicas": .int(Int64(active.count)), "fullyLabeledReplicas": .int(Int64(active.count)),
            "observedGeneration": set[path: ["metadata", "generation"]] ?? 1,
        ]
        if ready > 0 {
            status["readyReplicas"] = .int(Int64(ready))
            status["availableReplicas"] = .int(Int64(ready))
        }
        await api.store.modify(ObjectKey(resource: .replicaSets, namespace: set.namespace, name: set.name)) { object in
            object["status"] = status
        }
    }
}

/// What controllers read from a pod.
enum PodState {
    static func isActive(_ pod: JSON) -> Bool {
        let phase = pod[path: ["status", "phase"]]?.stringValue
        return !pod.isTerminating && phase != "Succeeded" && phase != "Failed"
    }

    static func isReady(_ pod: JSON) -> Bool {
        (pod[path: ["status", "conditions"]]?.arrayValue ?? []).contains {
            $0["type"] == "Ready" && $0["status"] == "True"
        }
    }

    static func created(_ object: JSON) -> String {
        object[path: ["metadata", "creationTimestamp"]]?.stringValue ?? ""
    }
}
