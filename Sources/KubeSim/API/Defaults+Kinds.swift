/// kube-apiserver's defaults for the kinds in ResourceType+Kinds.swift, for the fields clients read back
/// (`rollout status` of a StatefulSet needs its update strategy, `get pvc` its volume mode).
extension Defaults {
    static func kindDefaults(_ object: inout JSON, resource: ResourceType) {
        switch resource {
        case .statefulSets:
            setIfAbsent(&object, ["spec", "replicas"], 1)
            setIfAbsent(&object, ["spec", "podManagementPolicy"], "OrderedReady")
            setIfAbsent(
                &object, ["spec", "updateStrategy"], ["type": "RollingUpdate", "rollingUpdate": ["partition": 0]])
            setIfAbsent(&object, ["spec", "revisionHistoryLimit"], 10)
            setIfAbsent(
                &object, ["spec", "persistentVolumeClaimRetentionPolicy"],
                ["whenDeleted": "Retain", "whenScaled": "Retain"])
            podTemplate(&object, ["spec", "template", "spec"])
        case .jobs:
            setIfAbsent(&object, ["spec", "parallelism"], 1)
            setIfAbsent(&object, ["spec", "completions"], 1)
            setIfAbsent(&object, ["spec", "backoffLimit"], 6)
            setIfAbsent(&object, ["spec", "completionMode"], "NonIndexed")
            setIfAbsent(&object, ["spec", "suspend"], false)
            podTemplate(&object, ["spec", "template", "spec"])
        case .cronJobs:
            setIfAbsent(&object, ["spec", "concurrencyPolicy"], "Allow")
            setIfAbsent(&object, ["spec", "suspend"], false)
            setIfAbsent(&object, ["spec", "successfulJobsHistoryLimit"], 3)
            setIfAbsent(&object, ["spec", "failedJobsHistoryLimit"], 1)
        case .persistentVolumeClaims:
            setIfAbsent(&object, ["spec", "volumeMode"], "Filesystem")
        case .persistentVolumes:
            setIfAbsent(&object, ["spec", "volumeMode"], "Filesystem")
            setIfAbsent(&object, ["spec", "persistentVolumeReclaimPolicy"], "Retain")
        case .horizontalPodAutoscalers:
            setIfAbsent(&object, ["spec", "minReplicas"], 1)
        default:
            break
        }
    }

    private static func podTemplate(_ object: inout JSON, _ path: [String]) {
        guard var spec = object[path: path] else { return }
        podSpec(&spec)
        object[path: path] = spec
    }
}

extension ResourceType {
    /// Kinds whose `metadata.generation` counts spec changes (besides pods, Deployments, ReplicaSets).
    static let generationKinds: [ResourceType] = [
        .statefulSets, .jobs, .cronJobs, .horizontalPodAutoscalers, .ingresses, .networkPolicies,
        .podDisruptionBudgets, .daemonSets, .replicationControllers,
    ]
}
