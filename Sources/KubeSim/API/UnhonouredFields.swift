import Foundation

/// The pod-spec fields kubesim stores but does not act on, so that a write that uses them is answered
/// with a `Warning: 299 - "..."` header (kubectl prints each) and the pod gets an event: nothing is
/// dropped without a word.
enum UnhonouredFields {
    /// The pod spec of a Pod or of a workload's template.
    static func podSpec(of object: JSON, resource: ResourceType) -> (spec: JSON, path: String)? {
        switch resource {
        case .pods: return object["spec"].map { ($0, "spec") }
        case .deployments, .replicaSets:
            return object[path: ["spec", "template", "spec"]].map { ($0, "spec.template.spec") }
        default: return nil
        }
    }

    /// One message per field kubesim ignores in `object`, naming the field. `images`: also say that the
    /// images are not pulled (for the answer to a write; as an event on every pod it would only be noise).
    static func warnings(for object: JSON, resource: ResourceType, images: Bool = true) -> [String] {
        guard let (spec, path) = podSpec(of: object, resource: resource) else { return [] }
        var warnings: [String] = []
        for field in ["nodeSelector", "affinity", "tolerations", "topologySpreadConstraints", "priorityClassName"]
        where spec[field] != nil {
            warnings.append("\(path).\(field): ignored by kubesim (one node, no scheduling constraints)")
        }
        if spec["hostNetwork"]?.boolValue == true {
            warnings.append("\(path).hostNetwork: ignored by kubesim (every pod gets a network namespace of its own)")
        }
        if spec["hostPID"]?.boolValue == true || spec["hostIPC"]?.boolValue == true {
            warnings.append("\(path).hostPID/hostIPC: ignored by kubesim (every pod gets namespaces of its own)")
        }
        let honoured = ["runAsUser", "runAsGroup", "fsGroup", "supplementalGroups"]
        if let context = spec["securityContext"]?.objectValue, context.keys.contains(where: { !honoured.contains($0) })
        {
            warnings.append(
                "\(path).securityContext: kubesim applies only runAsUser, runAsGroup, fsGroup and supplementalGroups"
            )
        }
        for (index, volume) in (spec["volumes"]?.arrayValue ?? []).enumerated() {
            let kinds = (volume.objectValue ?? [:]).keys.filter { $0 != "name" }
            let supported = [
                "emptyDir", "hostPath", "configMap", "secret", "projected", "downwardAPI", "persistentVolumeClaim",
            ]
            for kind in kinds where !supported.contains(kind) {
                warnings.append(
                    "\(path).volumes[\(index)].\(kind): not supported by kubesim, mounted as an empty folder")
            }
        }
        let groups = [("initContainers", spec["initContainers"]), ("containers", spec["containers"])]
        for (group, containers) in groups {
            for (index, container) in (containers?.arrayValue ?? []).enumerated() {
                let at = "\(path).\(group)[\(index)]"
                warnings += containerWarnings(container, at: at, isInit: group == "initContainers", images: images)
            }
        }
        return warnings
    }

    private static func containerWarnings(_ container: JSON, at path: String, isInit: Bool, images: Bool) -> [String] {
        var warnings: [String] = []
        if images, let image = container["image"]?.stringValue, !image.isEmpty {
            warnings.append(
                "\(path).image: kubesim pulls no images; \"\(image)\" is not used, the command runs on the host's filesystem"
            )
        }
        if let resources = container["resources"]?.objectValue, !resources.isEmpty {
            warnings.append("\(path).resources: requests and limits are not enforced by kubesim")
        }
        for field in ["startupProbe", "lifecycle"] where container[field] != nil {
            warnings.append("\(path).\(field): not run by kubesim")
        }
        if let context = container["securityContext"]?.objectValue,
            context.keys.contains(where: { $0 != "runAsUser" && $0 != "runAsGroup" })
        {
            warnings.append("\(path).securityContext: kubesim applies only runAsUser and runAsGroup")
        }
        if isInit, container["restartPolicy"]?.stringValue == "Always" {
            warnings.append(
                "\(path).restartPolicy: sidecar containers are not supported by kubesim (run as an init container)")
        }
        for (index, port) in (container["ports"]?.arrayValue ?? []).enumerated() where port["hostPort"] != nil {
            warnings.append("\(path).ports[\(index)].hostPort: not bound by kubesim (use kubectl port-forward)")
        }
        return warnings
    }

    /// The value of a `Warning` header (RFC 7234 form, as kube-apiserver writes it).
    static func header(_ message: String) -> String {
        "299 - \"" + message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }
}
