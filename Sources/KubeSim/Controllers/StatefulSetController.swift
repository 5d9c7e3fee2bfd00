import Foundation

/// Pods `NAME-0 … NAME-(n-1)` with stable names, created in order (the next once the previous is
/// Ready, unless `podManagementPolicy: Parallel`), each with the claims of `volumeClaimTemplates`
/// (`TEMPLATE-NAME-ORDINAL`), which outlive the pods as on a cluster. A changed template rolls as
/// `updateStrategy` says: `RollingUpdate` from the highest ordinal down to `partition` (pods below it
/// stay at, and are recreated from, the current revision); `OnDelete` replaces no pod, and a pod
/// deleted by hand comes back at the update revision.
struct StatefulSetController {
    let api: APIService

    func reconcile() async {
        let sets = await api.store.list(.statefulSets, namespace: nil).items
        guard !sets.isEmpty else { return }
        let pods = await api.store.list(.pods, namespace: nil).items
        for set in sets where !set.isTerminating {
            let owned = pods.filter { $0.namespace == set.namespace && $0.controllerUID == set.uid }
            let (revisions, update) = await StatefulSetRevisions(api: api).sync(set, pods: owned)
            let current =
                Self.currentRevision(set).flatMap { name in
                    StatefulSetRevisions.template(name, in: revisions).map {
                        StatefulSetRevisions.Revision(name: name, template: $0)
                    }
                } ?? update
            let desired = set[path: ["spec", "replicas"]]?.intValue ?? 1
            let parallel = set[path: ["spec", "podManagementPolicy"]]?.stringValue == "Parallel"
            let rolling = set[path: ["spec", "updateStrategy", "type"]]?.stringValue != "OnDelete"
            let partition =
                rolling ? set[path: ["spec", "updateStrategy", "rollingUpdate", "partition"]]?.intValue ?? 0 : 0
            for ordinal in 0..<desired {
                let name = "\(set.name)-\(ordinal)"
                if let pod = owned.first(where: { $0.name == name }) {
                    if !parallel && !PodState.isReady(pod) { break }
                    continue
                }
                await createClaims(for: set, ordinal: ordinal)
                await createPod(for: set, ordinal: ordinal, revision: rolling && ordinal < partition ? current : update)
                if !parallel { break }
            }
            // A changed template rolls from the highest ordinal down to the partition, one pod at a time,
            // once all are ready.
            let active = owned.filter { (Self.ordinal(of: $0, in: set) ?? desired) < desired }
            if rolling, active.count == desired, active.allSatisfy(PodState.isReady),
                let outdated = active.filter({
                    Self.podRevision($0) != update.name && !$0.isTerminating
                        && (Self.ordinal(of: $0, in: set) ?? 0) >= partition
                }).max(by: { (Self.ordinal(of: $0, in: set) ?? 0) < (Self.ordinal(of: $1, in: set) ?? 0) })
            {
                _ = try? await api.delete(
                    .pods, namespace: outdated.namespace, name: outdated.name, options: DeleteOptions())
            }
            // Scale down from the highest ordinal; pods with the stable name are replaced once gone.
            for pod in owned where (Self.ordinal(of: pod, in: set) ?? 0) >= desired && !pod.isTerminating {
                _ = try? await api.delete(.pods, namespace: pod.namespace, name: pod.name, options: DeleteOptions())
            }
            await updateStatus(set, owned: active, current: current.name, update: update.name, rolling: rolling)
        }
    }

    /// The revision the status names current, nil before the first pass.
    static func currentRevision(_ set: JSON) -> String? {
        set[path: ["status", "currentRevision"]]?.stringValue
    }

    static func podRevision(_ pod: JSON) -> String? {
        pod[path: ["metadata", "labels", "controller-revision-hash"]]?.stringValue
    }

    static func ordinal(of pod: JSON, in set: JSON) -> Int? {
        guard pod.name.hasPrefix(set.name + "-") else { return nil }
        return Int(pod.name.dropFirst(set.name.count + 1))
    }

    private func createClaims(for set: JSON, ordinal: Int) async {
        for template in set[path: ["spec", "volumeClaimTemplates"]]?.arrayValue ?? [] {
            var claim: JSON = ["apiVersion": "v1", "kind": "PersistentVolumeClaim"]
            claim["metadata"] = template["metadata"] ?? [:]
            claim["spec"] = template["spec"] ?? [:]
            let name = "\(template[path: ["metadata", "name"]]?.stringValue ?? "data")-\(set.name)-\(ordinal)"
            claim[path: ["metadata", "name"]] = .string(name)
            claim[path: ["metadata", "namespace"]] = .string(set.namespace)
            var labels = set[path: ["spec", "selector", "matchLabels"]]?.objectValue ?? [:]
            for (key, value) in claim[path: ["metadata", "labels"]]?.objectValue ?? [:] { labels[key] = value }
            claim[path: ["metadata", "labels"]] = .object(labels)
            _ = try? await api.create(.persistentVolumeClaims, namespace: set.namespace, body: claim)
        }
    }

    private func createPod(for set: JSON, ordinal: Int, revision: StatefulSetRevisions.Revision) async {
        var pod: JSON = ["apiVersion": "v1", "kind": "Pod"]
        let template = revision.template
        pod["metadata"] = template["metadata"] ?? [:]
        var spec = template["spec"] ?? [:]
        let name = "\(set.name)-\(ordinal)"
        pod[path: ["metadata", "name"]] = .string(name)
        pod[path: ["metadata", "namespace"]] = .string(set.namespace)
        pod[path: ["metadata", "labels", "statefulset.kubernetes.io/pod-name"]] = .string(name)
        pod[path: ["metadata", "labels", "apps.kubernetes.io/pod-index"]] = .string(String(ordinal))
        pod[path: ["metadata", "labels", "controller-revision-hash"]] = .string(revision.name)
        pod[path: ["metadata", "ownerReferences"]] = [ReplicaSetController.ownerReference(set, kind: "StatefulSet")]
        spec["hostname"] = .string(name)
        if let service = set[path: ["spec", "serviceName"]] { spec["subdomain"] = service }
        var volumes = spec["volumes"]?.arrayValue ?? []
        for template in set[path: ["spec", "volumeClaimTemplates"]]?.arrayValue ?? [] {
            let volume = template[path: ["metadata", "name"]]?.stringValue ?? "data"
            volumes.removeAll { $0["name"]?.stringValue == volume }
            volumes.append([
                "name": .string(volume),
                "persistentVolumeClaim": ["claimName": .string("\(volume)-\(set.name)-\(ordinal)")],
            ])
        }
        if !volumes.isEmpty { spec["volumes"] = .array(volumes) }
        pod["spec"] = spec
        _ = try? await api.create(.pods, namespace: set.namespace, body: pod)
    }

    /// As the StatefulSet controller counts: pods at the current and at the update revision; the
    /// update becomes current once a rolling update has every pod updated and ready (never with
    /// OnDelete, as on a cluster).
    private func updateStatus(_ set: JSON, owned: [JSON], current: String, update: String, rolling: Bool) async {
        let updated = owned.filter { Self.podRevision($0) == update }.count
        let ready = owned.filter(PodState.isReady).count
        let desired = set[path: ["spec", "replicas"]]?.intValue ?? 1
        let complete = rolling && updated == owned.count && ready == owned.count && owned.count == desired
        let currentName = complete ? update : current
        let atCurrent = owned.filter { Self.podRevision($0) == currentName }.count
        var status: JSON = [
            "replicas": .int(Int64(owned.count)), "currentReplicas": .int(Int64(atCurrent)),
            "updatedReplicas": .int(Int64(updated)),
            "observedGeneration": set[path: ["metadata", "generation"]] ?? 1,
            "availableReplicas": .int(Int64(ready)),
            "currentRevision": .string(currentName), "updateRevision": .string(update), "collisionCount": 0,
        ]
        if ready > 0 { status["readyReplicas"] = .int(Int64(ready)) }
        await api.store.modify(ObjectKey(resource: .statefulSets, namespace: set.namespace, name: set.name)) {
            object in
            if object["status"] != status { object["status"] = status }
        }
    }
}
