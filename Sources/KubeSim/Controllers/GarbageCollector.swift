import Foundation

/// Deletes dependents whose owner is gone (background propagation) or being deleted in the foreground,
/// and finishes a foreground deletion once no dependent is left.
struct GarbageCollector {
    let api: APIService

    func reconcile() async {
        let store = api.store
        var everything: [(ResourceType, JSON)] = []
        for resource in ResourceType.stored {
            for object in await store.list(resource, namespace: nil).items { everything.append((resource, object)) }
        }
        let byUID = Dictionary(everything.map { ($0.1.uid, $0.1) }, uniquingKeysWith: { first, _ in first })
        for (resource, object) in everything where !object.ownerReferences.isEmpty && !object.isTerminating {
            let owners = object.ownerReferences.compactMap { $0["uid"]?.stringValue }
            let orphaned = owners.contains { byUID[$0] == nil }
            let ownerLeavingFirst = owners.contains { uid in
                guard let owner = byUID[uid], owner.isTerminating else { return false }
                return owner[path: ["metadata", "finalizers"]]?.arrayValue?.contains("foregroundDeletion") == true
            }
            if orphaned || ownerLeavingFirst {
                _ = try? await api.delete(
                    resource, namespace: object.namespace, name: object.name, options: DeleteOptions())
            }
        }
        for (resource, object) in everything where object.isTerminating {
            guard
                object[path: ["metadata", "finalizers"]]?.arrayValue?.contains("foregroundDeletion") == true,
                !everything.contains(where: { $0.1.ownerReferences.contains { $0["uid"]?.stringValue == object.uid } })
            else { continue }
            let key = ObjectKey(resource: resource, namespace: object.namespace, name: object.name)
            if let released = await store.modify(
                key,
                { live in
                    let rest = (live[path: ["metadata", "finalizers"]]?.arrayValue ?? []).filter {
                        $0 != "foregroundDeletion"
                    }
                    live[path: ["metadata", "finalizers"]] = rest.isEmpty ? nil : .array(rest)
                })
            {
                await api.finishDeletionIfReleased(resource, released)
            }
        }
    }
}

/// Empties a namespace marked for deletion, then removes it.
struct NamespaceController {
    let api: APIService

    func reconcile() async {
        let store = api.store
        for namespace in await store.list(.namespaces, namespace: nil).items where namespace.isTerminating {
            var remaining = 0
            for resource in ResourceType.stored where resource.namespaced {
                for object in await store.list(resource, namespace: namespace.name).items {
                    remaining += 1
                    if !object.isTerminating {
                        _ = try? await api.delete(
                            resource, namespace: object.namespace, name: object.name, options: DeleteOptions())
                    }
                }
            }
            if remaining == 0 {
                await store.remove(ObjectKey(resource: .namespaces, namespace: "", name: namespace.name))
            }
        }
    }

    /// The namespaces every cluster starts with.
    static func ensureDefaults(_ api: APIService) async {
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            _ = try? await api.create(
                .namespaces, namespace: nil,
                body: ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(name)]])
        }
    }
}

/// Runs every controller after each change of the store (changes coalesce while a pass runs).
struct ControllerLoop {
    let api: APIService
    /// Where the local-path provisioner keeps the volumes of claims.
    var volumes: URL?
    /// The time CronJobs are scheduled by.
    var clock: any ControllerClock = SystemClock()

    func run() async {
        let deployments = DeploymentController(api: api)
        let replicaSets = ReplicaSetController(api: api)
        let collector = GarbageCollector(api: api)
        let namespaces = NamespaceController(api: api)
        let cluster = ClusterObjectsController(api: api, volumes: volumes)
        let statefulSets = StatefulSetController(api: api)
        let jobs = JobController(api: api)
        let cronJobs = CronJobScheduler(api: api, clock: clock)
        await cluster.reconcile()
        for await _ in await api.store.changes() {
            if Task.isCancelled { return }
            await namespaces.reconcile()
            await cluster.reconcile()
            await collector.reconcile()
            await deployments.reconcile()
            await replicaSets.reconcile()
            await statefulSets.reconcile()
            await jobs.reconcile()
            await cronJobs.reconcile()
        }
        await cronJobs.stop()
    }
}
