/// Kubernetes' built-in cluster-scoped kinds (1.25 to 1.32): none of them belongs in dev manifests.
enum ClusterScopedKinds {
    static let builtIn: Set<String> = [
        "Namespace", "Node", "PersistentVolume", "ComponentStatus", "ClusterRole", "ClusterRoleBinding",
        "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass",
        "CustomResourceDefinition", "APIService", "PriorityClass", "IngressClass", "RuntimeClass",
        "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
        "CertificateSigningRequest", "ClusterTrustBundle", "FlowSchema", "PriorityLevelConfiguration",
        "TokenReview", "SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview",
        "SelfSubjectReview", "IPAddress", "ServiceCIDR", "StorageVersion", "StorageVersionMigration",
        "DeviceClass", "ResourceSlice", "PodSecurityPolicy",
    ]
}

/// Kubernetes' built-in namespaced kinds: an object of one of these without `metadata.namespace`
/// goes into the dev namespace. Any other kind must name the dev namespace itself.
enum NamespacedKinds {
    static let builtIn: Set<String> = [
        "Pod", "PodTemplate", "ReplicationController", "Service", "Endpoints", "ConfigMap", "Secret",
        "ServiceAccount", "PersistentVolumeClaim", "LimitRange", "ResourceQuota", "Event", "Binding",
        "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision", "Job", "CronJob",
        "HorizontalPodAutoscaler", "PodDisruptionBudget", "Role", "RoleBinding", "Ingress", "NetworkPolicy",
        "EndpointSlice", "Lease", "CSIStorageCapacity", "LocalSubjectAccessReview", "ResourceClaim",
        "ResourceClaimTemplate",
    ]
}
