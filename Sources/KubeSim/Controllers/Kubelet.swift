import Foundation

/// The node agent: binds every pod to the one node, hands it to the runtime, turns the runtime's
/// status updates into `pod.status`, and finishes deletions once the pod's processes are gone.
actor Kubelet {
    static let nodeName = "kubesim"

    let api: APIService
    let runtime: PodRuntime
    /// uid → where the pod lives, for every pod handed to the runtime.
    private var running: [String: ObjectKey] = [:]
    private var stopping: Set<String> = []
    private var statuses: [String: RuntimePodStatus] = [:]

    private let events: EventRecorder

    init(api: APIService, runtime: PodRuntime) {
        self.api = api
        self.runtime = runtime
        self.events = EventRecorder(api: api)
    }

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in await self.api.store.changes() {
                    if Task.isCancelled { return }
                    await self.sync()
                }
            }
            group.addTask {
                for await (uid, status) in self.runtime.statusUpdates {
                    if Task.isCancelled { return }
                    await self.report(uid: uid, status: status)
                }
            }
        }
    }

    /// The latest status the runtime reported for a pod (nil: not started yet).
    func status(uid: String) -> RuntimePodStatus? { statuses[uid] }

    private func sync() async {
        let pods = await api.store.list(.pods, namespace: nil).items
        var present = Set<String>()
        for pod in pods {
            let uid = pod.uid
            present.insert(uid)
            let key = ObjectKey(resource: .pods, namespace: pod.namespace, name: pod.name)
            if pod[path: ["spec", "nodeName"]] == nil {
                await bind(key)
                continue
            }
            if pod.isTerminating {
                guard running[uid] != nil else {
                    await api.store.remove(key)
                    continue
                }
                guard !stopping.contains(uid) else { continue }
                stopping.insert(uid)
                let grace = pod[path: ["metadata", "deletionGracePeriodSeconds"]]?.intValue ?? 30
                for container in pod[path: ["spec", "containers"]]?.arrayValue ?? [] {
                    let name = container["name"]?.stringValue ?? ""
                    await events.record(
                        pod, reason: "Killing", message: "Stopping container \(name)", field: "spec.containers{\(name)}"
                    )
                }
                Task { await self.stop(uid: uid, key: key, grace: grace) }
                continue
            }
            let phase = pod[path: ["status", "phase"]]?.stringValue
            if running[uid] == nil && phase != "Succeeded" && phase != "Failed" {
                guard let resolved = await resolvingClaims(pod) else { continue }
                running[uid] = key
                let spec = PodConversion.runtimePod(resolved)
                Task { await self.start(spec, key: key) }
            }
        }
        // Force-deleted pods (grace 0) left the store before their processes did.
        for uid in running.keys where !present.contains(uid) && !stopping.contains(uid) {
            stopping.insert(uid)
            Task { await self.stop(uid: uid, key: nil, grace: 0) }
        }
    }

    private func bind(_ key: ObjectKey) async {
        let bound = await api.store.modify(key) { pod in
            pod[path: ["spec", "nodeName"]] = .string(Self.nodeName)
            var conditions = pod[path: ["status", "conditions"]]?.arrayValue ?? []
            conditions.removeAll { $0["type"] == "PodScheduled" }
            conditions.append(Conditions.make("PodScheduled", true, reason: nil, message: nil, previous: []))
            pod[path: ["status", "conditions"]] = .array(conditions)
        }
        if let bound {
            await events.record(
                bound, reason: "Scheduled",
                message: "Successfully assigned \(key.namespace)/\(key.name) to \(Self.nodeName)",
                component: "default-scheduler")
        }
    }

    private func start(_ pod: RuntimePod, key: ObjectKey) async {
        do {
            try await runtime.start(pod)
        } catch {
            await api.store.modify(key) { object in
                object[path: ["status", "phase"]] = "Failed"
                object[path: ["status", "reason"]] = "CreateContainerError"
                object[path: ["status", "message"]] = .string(String(describing: error))
            }
        }
    }

    private func stop(uid: String, key: ObjectKey?, grace: Int) async {
        await runtime.stop(uid: uid, gracePeriodSeconds: grace)
        running[uid] = nil
        stopping.remove(uid)
        statuses[uid] = nil
        guard let key else { return }
        if let pod = await api.store.get(key), pod.uid == uid { await api.store.remove(key) }
    }

    private func report(uid: String, status: RuntimePodStatus) async {
        guard let key = running[uid] else { return }
        let previous = statuses[uid]
        statuses[uid] = status
        let updated = await api.store.modify(key) { pod in
            guard pod.uid == uid else { return }
            pod["status"] = PodConversion.status(status, pod: pod)
        }
        if let updated, updated.uid == uid { await events.recordChanges(updated, from: previous, to: status) }
    }

    /// Stops every pod (shutdown) and forgets them.
    func shutdown() async {
        await runtime.shutdown()
        running.removeAll()
        stopping.removeAll()
    }

    /// The uid of a pod, once it runs.
    func isRunning(uid: String) -> Bool { running[uid] != nil }
}
