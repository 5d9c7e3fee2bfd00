/// The kinds beyond the core of a dev loop that developers' manifests carry (the shipped k8s/ uses most
/// of them): stored and served like a cluster's; a controller runs only where kubesim has one.
extension ResourceType {
    public static let serviceAccounts = ResourceType(
        group: "", version: "v1", name: "serviceaccounts", singularName: "serviceaccount", kind: "ServiceAccount",
        namespaced: true, shortNames: ["sa"], verbs: crud, subresources: ["token"])
    public static let nodes = ResourceType(
        group: "", version: "v1", name: "nodes", singularName: "node", kind: "Node", namespaced: false,
        shortNames: ["no"], verbs: crud, subresources: ["status"])
    public static let persistentVolumeClaims = ResourceType(
        group: "", version: "v1", name: "persistentvolumeclaims", singularName: "persistentvolumeclaim",
        kind: "PersistentVolumeClaim", namespaced: true, shortNames: ["pvc"], verbs: crud, subresources: ["status"])
    public static let persistentVolumes = ResourceType(
        group: "", version: "v1", name: "persistentvolumes", singularName: "persistentvolume",
        kind: "PersistentVolume", namespaced: false, shortNames: ["pv"], verbs: crud, subresources: ["status"])
    public static let endpoints = ResourceType(
        group: "", version: "v1", name: "endpoints", singularName: "endpoints", kind: "Endpoints", namespaced: true,
        shortNames: ["ep"], verbs: crud, subresources: [])
    public static let statefulSets = ResourceType(
        group: "apps", version: "v1", name: "statefulsets", singularName: "statefulset", kind: "StatefulSet",
        namespaced: true, shortNames: ["sts"], verbs: crud, subresources: ["status", "scale"])
    public static let controllerRevisions = ResourceType(
        group: "apps", version: "v1", name: "controllerrevisions", singularName: "controllerrevision",
        kind: "ControllerRevision", namespaced: true, shortNames: [], verbs: crud, subresources: [])
    public static let jobs = ResourceType(
        group: "batch", version: "v1", name: "jobs", singularName: "job", kind: "Job", namespaced: true,
        shortNames: [], verbs: crud, subresources: ["status"])
    public static let cronJobs = ResourceType(
        group: "batch", version: "v1", name: "cronjobs", singularName: "cronjob", kind: "CronJob", namespaced: true,
        shortNames: ["cj"], verbs: crud, subresources: ["status"])
    public static let horizontalPodAutoscalers = ResourceType(
        group: "autoscaling", version: "v2", name: "horizontalpodautoscalers",
        singularName: "horizontalpodautoscaler", kind: "HorizontalPodAutoscaler", namespaced: true,
        shortNames: ["hpa"], verbs: crud, subresources: ["status"])
    /// autoscaling/v1: what `kubectl autoscale` creates; stored as v2 (see HorizontalPodAutoscalerConversion).
    public static let horizontalPodAutoscalersV1 = ResourceType(
        group: "autoscaling", version: "v1", name: "horizontalpodautoscalers",
        singularName: "horizontalpodautoscaler", kind: "HorizontalPodAutoscaler", namespaced: true,
        shortNames: ["hpa"], verbs: crud, subresources: ["status"])
    public static let ingresses = ResourceType(
        group: "networking.k8s.io", version: "v1", name: "ingresses", singularName: "ingress", kind: "Ingress",
        namespaced: true, shortNames: ["ing"], verbs: crud, subresources: ["status"])
    public static let networkPolicies = ResourceType(
        group: "networking.k8s.io", version: "v1", name: "networkpolicies", singularName: "networkpolicy",
        kind: "NetworkPolicy", namespaced: true, shortNames: ["netpol"], verbs: crud, subresources: [])
    public static let podDisruptionBudgets = ResourceType(
        group: "policy", version: "v1", name: "poddisruptionbudgets", singularName: "poddisruptionbudget",
        kind: "PodDisruptionBudget", namespaced: true, shortNames: ["pdb"], verbs: crud, subresources: ["status"])
    public static let endpointSlices = ResourceType(
        group: "discovery.k8s.io", version: "v1", name: "endpointslices", singularName: "endpointslice",
        kind: "EndpointSlice", namespaced: true, shortNames: [], verbs: crud, subresources: [])

    /// Stored without a controller (no pods): kubectl's `apply --prune` default allowlist names both, and
    /// fails on a server that does not serve them.
    public static let daemonSets = ResourceType(
        group: "apps", version: "v1", name: "daemonsets", singularName: "daemonset", kind: "DaemonSet",
        namespaced: true, shortNames: ["ds"], verbs: crud, subresources: ["status"])
    public static let replicationControllers = ResourceType(
        group: "", version: "v1", name: "replicationcontrollers", singularName: "replicationcontroller",
        kind: "ReplicationController", namespaced: true, shortNames: ["rc"], verbs: crud,
        subresources: ["status", "scale"])

    /// Stored, not enforced (`kubectl describe namespace` lists both).
    public static let resourceQuotas = ResourceType(
        group: "", version: "v1", name: "resourcequotas", singularName: "resourcequota", kind: "ResourceQuota",
        namespaced: true, shortNames: ["quota"], verbs: crud, subresources: ["status"])
    public static let limitRanges = ResourceType(
        group: "", version: "v1", name: "limitranges", singularName: "limitrange", kind: "LimitRange",
        namespaced: true, shortNames: ["limits"], verbs: crud, subresources: [])

    /// The kinds of this file, in discovery order.
    static let workloadKinds: [ResourceType] = [
        .serviceAccounts, .nodes, .persistentVolumeClaims, .persistentVolumes, .endpoints, .statefulSets,
        .controllerRevisions, .jobs, .cronJobs, .horizontalPodAutoscalers, .ingresses, .networkPolicies,
        .podDisruptionBudgets, .endpointSlices, .daemonSets, .replicationControllers, .resourceQuotas, .limitRanges,
    ]
}
