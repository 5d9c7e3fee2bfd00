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
    /// Set by `shutdown`: from then on no pod is handed to the runtime.
    private var isShutDown = false
    /// uid → the start in progress, which `shutdown` waits for.
    private var starts: [String: Task<Void, Never>] = [:]
    private var statuses: [String: RuntimePodStatus] = [:]

    private let events: EventRecorder
    /// uid → the config error a pod's containers wait on (CreateContainerConfigError), last written.
    private var configWaiting: [String: String] = [:]
    /// uid → when each container event was last recorded: a probe failing every second is one event a
    /// minute, not sixty (kube-apiserver's events aggregate with a count instead).
    private var recentEvents: [String: [String: Date]] = [:]

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
                for await event in self.runtime.containerEvents {
                    if Task.isCancelled { return }
                    await self.record(event)
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
        // A sync in progress while kubesim stops would start the pods again on a runtime already shut down:
        // containers outliving stop() beside the next kubesim's, on the same folders.
        guard !isShutDown else { return }
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
                starts[uid] = Task {
                    await self.start(resolved, key: key)
                    await self.started(uid)
                }
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

    private func start(_ object: JSON, key: ObjectKey) async {
        var pod = PodConversion.runtimePod(object)
        switch await ContainerEnvironment(api: api).resolve(object) {
        case .failure(let error):
            // Not started: the next change in the store (the missing ConfigMap or Secret, say) tries again.
            running[pod.uid] = nil
            await waitForConfig(object, key: key, message: error.message)
            return
        case .success(let environments):
            for index in pod.containers.indices {
                pod.containers[index].env = environments[pod.containers[index].name] ?? [:]
            }
            for index in pod.initContainers.indices {
                pod.initContainers[index].env = environments[pod.initContainers[index].name] ?? [:]
            }
        }
        switch await ContainerEnvironment(api: api).volumeFiles(object) {
        case .failure(let error):
            // kubelet: the containers stay ContainerCreating, with FailedMount events.
            running[pod.uid] = nil
            await waitForConfig(
                object, key: key, message: error.message, reason: "ContainerCreating", event: "FailedMount")
            return
        case .success(let files):
            for index in pod.volumes.indices {
                if let volumeFiles = files[pod.volumes[index].name] { pod.volumes[index].source = .files(volumeFiles) }
            }
            configWaiting[pod.uid] = nil
        }
        for message in UnhonouredFields.warnings(for: object, resource: .pods, images: false) {
            await events.record(object, reason: "FieldIgnored", message: message, warning: true)
        }
        guard !isShutDown else { return }
        do {
            try await runtime.start(pod)
        } catch {
            // Refused because kubesim stops: the pod is not failed, the next kubesim starts it.
            guard !isShutDown else { return }
            await api.store.modify(key) { object in
                object[path: ["status", "phase"]] = "Failed"
                object[path: ["status", "reason"]] = "CreateContainerError"
                object[path: ["status", "message"]] = .string(String(describing: error))
            }
        }
    }

    private func record(_ event: RuntimeContainerEvent) async {
        let signature = "\(event.container)|\(event.reason)|\(event.message)"
        if let last = recentEvents[event.uid]?[signature], Date().timeIntervalSince(last) < 60 { return }
        recentEvents[event.uid, default: [:]][signature] = Date()
        guard let key = running[event.uid], let pod = await api.store.get(key), pod.uid == event.uid else { return }
        await events.record(
            pod, reason: event.reason, message: event.message, warning: event.warning,
            field: "spec.containers{\(event.container)}")
    }

    /// The pod stays Pending, its containers waiting with CreateContainerConfigError, as a kubelet shows
    /// a container whose ConfigMap, Secret or key is missing.
    private func waitForConfig(
        _ pod: JSON, key: ObjectKey, message: String, reason: String = "CreateContainerConfigError",
        event: String = "Failed"
    ) async {
        guard configWaiting[pod.uid] != message else { return }
        configWaiting[pod.uid] = message
        let waiting: JSON =
            reason == "ContainerCreating"
            ? ["waiting": ["reason": .string(reason)]]
            : ["waiting": ["reason": .string(reason), "message": .string(message)]]
        let updated = await api.store.modify(key) { object in
            guard object.uid == pod.uid else { return }
            object[path: ["status", "phase"]] = "Pending"
            object[path: ["status", "hostIP"]] = "127.0.0.1"
            object[path: ["status", "containerStatuses"]] = .array(
                (object[path: ["spec", "containers"]]?.arrayValue ?? []).map { container in
                    [
                        "name": container["name"] ?? "", "image": container["image"] ?? "", "imageID": "",
                        "ready": false, "started": false, "restartCount": 0, "state": waiting, "lastState": [:],
                    ]
                })
        }
        if let updated {
            let text = event == "Failed" ? "Error: \(message)" : message
            await events.record(updated, reason: event, message: text, warning: true)
        }
    }

    /// A real kubelet sees its containers exit on the pod lifecycle event generator's relist, once a
    /// second, before it removes the pod: a deleted pod stays (terminating) at least this long. Without
    /// it a StatefulSet pod went and came back (same name, new UID) within kubectl 1.32's delete wait,
    /// between its GET and its LIST, and kubectl then waited for ever for a DELETED of the new pod.
    static let minimumTermination = Duration.seconds(1)

    private func stop(uid: String, key: ObjectKey?, grace: Int) async {
        let started = ContinuousClock.now
        await runtime.stop(uid: uid, gracePeriodSeconds: grace)
        running[uid] = nil
        stopping.remove(uid)
        statuses[uid] = nil
        recentEvents[uid] = nil
        guard let key else { return }
        try? await Task.sleep(until: started + Self.minimumTermination)
        // Only this pod: a pod of the same name created since is another pod.
        await api.store.remove(key, uid: uid)
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

    private func started(_ uid: String) { starts[uid] = nil }

    /// Stops every pod (shutdown) and forgets them; returns once no start is in progress either.
    func shutdown() async {
        isShutDown = true
        await runtime.shutdown()
        for start in starts.values { await start.value }
        starts.removeAll()
        running.removeAll()
        stopping.removeAll()
    }

    /// The uid of a pod, once it runs.
    func isRunning(uid: String) -> Bool { running[uid] != nil }
}
