import Foundation

/// What a cluster has without anyone creating it — its one node, a `default` ServiceAccount in every
/// namespace — and the status a cluster shows for kinds whose controller kubesim lacks (an HPA without
/// metrics, an Ingress without a controller, a PVC without a provisioner), so nothing reads as working
/// that is not.
struct ClusterObjectsController {
    let api: APIService
    /// Where provisioned volumes live (a folder per claim); nil: claims stay Pending, as without a provisioner.
    var volumes: URL?
    static let nodeName = "kubesim"

    func reconcile() async {
        await ensureNode()
        for namespace in await api.store.list(.namespaces, namespace: nil).items where !namespace.isTerminating {
            let account = ObjectKey(resource: .serviceAccounts, namespace: namespace.name, name: "default")
            if await api.store.get(account) == nil {
                _ = try? await api.create(
                    .serviceAccounts, namespace: namespace.name,
                    body: ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "default"]])
            }
        }
        for hpa in await api.store.list(.horizontalPodAutoscalers, namespace: nil).items
        where hpa[path: ["status", "conditions"]] == nil {
            await setStatus(.horizontalPodAutoscalers, hpa, Self.autoscalerStatus(hpa))
        }
        for claim in await api.store.list(.persistentVolumeClaims, namespace: nil).items
        where claim[path: ["status", "phase"]]?.stringValue != "Bound" && !claim.isTerminating {
            await provision(claim)
        }
        await EndpointsController(api: api).reconcile()
    }

    /// kubesim is the cluster's local-path provisioner: a claim gets a folder under the state directory,
    /// a PersistentVolume for it, and is Bound, as on kind, minikube or k3s with their default class.
    private func provision(_ claim: JSON) async {
        guard let volumes else {
            if claim[path: ["status", "phase"]] == nil {
                await setStatus(.persistentVolumeClaims, claim, ["phase": "Pending"])
            }
            return
        }
        let volumeName = "pvc-\(claim.uid)"
        let folder = volumes.appendingPathComponent(volumeName)
        guard (try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)) != nil else {
            return
        }
        let storage = claim[path: ["spec", "resources", "requests", "storage"]] ?? "1Gi"
        let modes = claim[path: ["spec", "accessModes"]] ?? ["ReadWriteOnce"]
        let volume: JSON = [
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": ["name": .string(volumeName), "annotations": ["pv.kubernetes.io/provisioned-by": "kubesim"]],
            "spec": [
                "capacity": ["storage": storage], "accessModes": modes, "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": claim[path: ["spec", "storageClassName"]] ?? "standard",
                "hostPath": ["path": .string(folder.path), "type": "DirectoryOrCreate"],
                "claimRef": [
                    "apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": .string(claim.namespace),
                    "name": .string(claim.name), "uid": .string(claim.uid),
                ],
            ],
        ]
        if await api.store.get(ObjectKey(resource: .persistentVolumes, namespace: "", name: volumeName)) == nil {
            _ = try? await api.create(.persistentVolumes, namespace: nil, body: volume)
            if let created = await api.store.get(
                ObjectKey(resource: .persistentVolumes, namespace: "", name: volumeName))
            {
                await setStatus(.persistentVolumes, created, ["phase": "Bound"])
            }
        }
        _ = try? await api.update(
            .persistentVolumeClaims, namespace: claim.namespace, name: claim.name, fieldManager: "kubesim",
            keepStatus: false
        ) { live in
            var live = live
            live[path: ["spec", "volumeName"]] = .string(volumeName)
            live[path: ["metadata", "annotations", "pv.kubernetes.io/bind-completed"]] = "yes"
            live["status"] = ["phase": "Bound", "accessModes": modes, "capacity": ["storage": storage]]
            return live
        }
    }

    private func ensureNode() async {
        let key = ObjectKey(resource: .nodes, namespace: "", name: Self.nodeName)
        if let node = await api.store.get(key), node[path: ["status", "nodeInfo"]] != nil { return }
        if await api.store.get(key) == nil {
            let labels: JSON = [
                "kubernetes.io/hostname": .string(Self.nodeName), "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64", "node-role.kubernetes.io/control-plane": "",
            ]
            _ = try? await api.create(
                .nodes, namespace: nil,
                body: [
                    "apiVersion": "v1", "kind": "Node", "metadata": ["name": .string(Self.nodeName), "labels": labels],
                ])
        }
        guard let node = await api.store.get(key) else { return }
        await setStatus(.nodes, node, Self.nodeStatus())
    }

    private func setStatus(_ resource: ResourceType, _ object: JSON, _ status: JSON) async {
        _ = try? await api.update(
            resource, namespace: resource.namespaced ? object.namespace : nil, name: object.name,
            fieldManager: "kubesim", keepStatus: false
        ) { live in
            var live = live
            live["status"] = status
            return live
        }
    }

    /// The node as `kubectl get nodes` and `describe node` read it: Ready, with this machine's capacity.
    static func nodeStatus(now: Date = Date()) -> JSON {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let memory = ProcessInfo.processInfo.physicalMemory / 1024
        let capacity: JSON = [
            "cpu": .string("\(cores)"), "memory": .string("\(memory)Ki"), "pods": "110",
            "ephemeral-storage": "100Gi",
        ]
        let time = JSON.string(Timestamps.format(now))
        let condition = { (type: String, status: String, reason: String, message: String) -> JSON in
            [
                "type": .string(type), "status": .string(status), "reason": .string(reason),
                "message": .string(message), "lastHeartbeatTime": time, "lastTransitionTime": time,
            ]
        }
        return [
            "capacity": capacity, "allocatable": capacity,
            "conditions": [
                condition(
                    "MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status (kubesim)"),
            ],
            "addresses": [
                ["type": "InternalIP", "address": "127.0.0.1"], ["type": "Hostname", "address": "kubesim"],
            ],
            "nodeInfo": [
                "kubeletVersion": .string(KubeSimInfo.version), "kubeProxyVersion": .string(KubeSimInfo.version),
                "operatingSystem": "linux", "architecture": "amd64", "containerRuntimeVersion": "kubesim://bubblewrap",
                "osImage": "kubesim (pods are local processes)", "kernelVersion": "",
                "machineID": "", "systemUUID": "", "bootID": "",
            ],
            "daemonEndpoints": ["kubeletEndpoint": ["Port": 10250]],
        ]
    }

    /// What an HPA shows on a cluster without a metrics server: it cannot read its metrics and keeps
    /// the replicas it has.
    static func autoscalerStatus(_ hpa: JSON, now: Date = Date()) -> JSON {
        let replicas = hpa[path: ["spec", "minReplicas"]] ?? 1
        let time = JSON.string(Timestamps.format(now))
        return [
            "currentReplicas": replicas, "desiredReplicas": replicas,
            "conditions": [
                [
                    "type": "AbleToScale", "status": "True", "reason": "SucceededGetScale", "lastTransitionTime": time,
                    "message": "the HPA controller was able to get the target's current scale",
                ],
                [
                    "type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
                    "lastTransitionTime": time,
                    "message": "the HPA was unable to compute the replica count: kubesim runs no metrics server",
                ],
            ],
        ]
    }
}
