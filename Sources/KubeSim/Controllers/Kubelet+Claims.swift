/// PersistentVolumeClaim volumes: a kubelet mounts the volume a claim is bound to, and a pod whose claim
/// is not bound yet does not start.
extension Kubelet {
    /// The pod with each claim volume replaced by its bound volume's hostPath; nil while one is unbound.
    func resolvingClaims(_ pod: JSON) async -> JSON? {
        guard var volumes = pod[path: ["spec", "volumes"]]?.arrayValue,
            volumes.contains(where: { $0["persistentVolumeClaim"] != nil })
        else { return pod }
        for index in volumes.indices {
            guard let claimName = volumes[index][path: ["persistentVolumeClaim", "claimName"]]?.stringValue else {
                continue
            }
            let claimKey = ObjectKey(resource: .persistentVolumeClaims, namespace: pod.namespace, name: claimName)
            guard let claim = await api.store.get(claimKey), claim[path: ["status", "phase"]] == "Bound",
                let volumeName = claim[path: ["spec", "volumeName"]]?.stringValue,
                let volume = await api.store.get(
                    ObjectKey(resource: .persistentVolumes, namespace: "", name: volumeName)),
                let path = volume[path: ["spec", "hostPath", "path"]]
            else { return nil }
            volumes[index]["persistentVolumeClaim"] = nil
            volumes[index]["hostPath"] = ["path": path]
        }
        var resolved = pod
        resolved[path: ["spec", "volumes"]] = .array(volumes)
        return resolved
    }
}
