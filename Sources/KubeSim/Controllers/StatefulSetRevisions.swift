import Foundation

/// A StatefulSet's ControllerRevisions, as its controller keeps them: one per pod template
/// (`NAME-<hash>`, `revision` counting up, `data` the strategic-merge patch that puts the template
/// back, which is what `kubectl rollout undo` applies), so that pods kept at the current revision
/// (below a partition) are recreated from their own template and `rollout history` has entries.
struct StatefulSetRevisions {
    let api: APIService

    struct Revision {
        var name: String
        var template: JSON
    }

    /// The update revision (the spec's template) saved, numbered above every other when it is new or
    /// comes back (a rollback); the older ones beyond `revisionHistoryLimit` that no pod uses removed.
    func sync(_ set: JSON, pods: [JSON]) async -> (revisions: [JSON], update: Revision) {
        let template = set[path: ["spec", "template"]] ?? [:]
        let hash = Names.templateHash(template)
        let update = Revision(name: "\(set.name)-\(hash)", template: template)
        var revisions = await owned(set)
        let highest = revisions.compactMap { $0["revision"]?.intValue }.max() ?? 0
        if let index = revisions.firstIndex(where: { $0.name == update.name }) {
            if revisions[index]["revision"]?.intValue != highest {
                let key = ObjectKey(resource: .controllerRevisions, namespace: set.namespace, name: update.name)
                await api.store.modify(key) { $0["revision"] = .int(Int64(highest + 1)) }
                revisions[index]["revision"] = .int(Int64(highest + 1))
            }
        } else {
            let revision = Self.object(for: set, template: template, hash: hash, number: highest + 1)
            if let created = try? await api.create(.controllerRevisions, namespace: set.namespace, body: revision) {
                revisions.append(created)
            }
        }
        await prune(set, revisions: &revisions, keep: [update.name, StatefulSetController.currentRevision(set)], pods)
        return (revisions, update)
    }

    /// The template a revision saved, nil when it is gone.
    static func template(_ name: String, in revisions: [JSON]) -> JSON? {
        guard var template = revisions.first(where: { $0.name == name })?[path: ["data", "spec", "template"]] else {
            return nil
        }
        template["$patch"] = nil
        return template
    }

    private func owned(_ set: JSON) async -> [JSON] {
        await api.store.list(.controllerRevisions, namespace: set.namespace).items.filter {
            $0.controllerUID == set.uid
        }
    }

    private func prune(_ set: JSON, revisions: inout [JSON], keep: [String?], _ pods: [JSON]) async {
        let limit = set[path: ["spec", "revisionHistoryLimit"]]?.intValue ?? 10
        let used = Set(pods.compactMap(StatefulSetController.podRevision)).union(keep.compactMap { $0 })
        let old = revisions.filter { !used.contains($0.name) }
            .sorted { ($0["revision"]?.intValue ?? 0) < ($1["revision"]?.intValue ?? 0) }
        for revision in old.dropLast(limit) {
            _ = try? await api.delete(
                .controllerRevisions, namespace: set.namespace, name: revision.name, options: DeleteOptions())
            revisions.removeAll { $0.name == revision.name }
        }
    }

    private static func object(for set: JSON, template: JSON, hash: String, number: Int) -> JSON {
        var labels = set[path: ["spec", "selector", "matchLabels"]]?.objectValue ?? [:]
        labels["controller.kubernetes.io/hash"] = .string(hash)
        var patch = template
        patch["$patch"] = "replace"
        return [
            "apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": [
                "name": .string("\(set.name)-\(hash)"), "namespace": .string(set.namespace),
                "labels": .object(labels),
                "ownerReferences": [ReplicaSetController.ownerReference(set, kind: "StatefulSet")],
            ],
            "data": ["spec": ["template": patch]], "revision": .int(Int64(number)),
        ]
    }
}
