import Foundation

/// `kubectl get` columns of the kinds in ResourceType+Kinds.swift, as kube-apiserver's printers give them.
extension TableConverter {
    static func kindColumns(_ resource: ResourceType) -> [Column]? {
        let name = Column(name: "Name", type: "string", format: "name")
        let age = Column(name: "Age", type: "string")
        func text(_ title: String, priority: Int = 0) -> Column {
            Column(name: title, type: "string", priority: priority)
        }
        switch resource {
        case .nodes:
            return [name, text("Status"), text("Roles"), age, text("Version")]
                + ["Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"].map {
                    text($0, priority: 1)
                }
        case .serviceAccounts: return [name, Column(name: "Secrets", type: "integer"), age]
        case .persistentVolumeClaims:
            return [
                name, text("Status"), text("Volume"), text("Capacity"), text("Access Modes"), text("StorageClass"),
                text("VolumeAttributesClass"), age, text("VolumeMode", priority: 1),
            ]
        case .persistentVolumes:
            return [
                name, text("Capacity"), text("Access Modes"), text("Reclaim Policy"), text("Status"), text("Claim"),
                text("StorageClass"), text("VolumeAttributesClass"), text("Reason"), age,
                text("VolumeMode", priority: 1),
            ]
        case .statefulSets: return [name, text("Ready"), age] + templateColumns(selector: false)
        case .controllerRevisions: return [name, text("Controller"), Column(name: "Revision", type: "integer"), age]
        case .jobs: return [name, text("Status"), text("Completions"), text("Duration"), age] + templateColumns()
        case .cronJobs:
            return [
                name, text("Schedule"), text("Timezone"), Column(name: "Suspend", type: "boolean"),
                Column(name: "Active", type: "integer"), text("Last Schedule"), age,
            ] + templateColumns()
        case .horizontalPodAutoscalers:
            return [name, text("Reference"), text("Targets"), text("MinPods"), text("MaxPods"), text("Replicas"), age]
        case .ingresses: return [name, text("Class"), text("Hosts"), text("Address"), text("Ports"), age]
        case .networkPolicies: return [name, text("Pod-Selector"), age]
        case .podDisruptionBudgets:
            return [name, text("Min Available"), text("Max Unavailable"), text("Allowed Disruptions"), age]
        case .endpoints: return [name, text("Endpoints"), age]
        case .componentStatuses: return [name, text("Status"), text("Message"), text("Error")]
        case .resourceQuotas: return [name, age, text("Request"), text("Limit")]
        case .limitRanges: return [name, text("Created At")]
        case .replicationControllers:
            let count = ["Desired", "Current", "Ready"].map { Column(name: $0, type: "integer") }
            return [name] + count + [age] + templateColumns()
        case .daemonSets:
            let count = ["Desired", "Current", "Ready", "Up-to-date", "Available"].map {
                Column(name: $0, type: "integer")
            }
            return [name] + count + [text("Node Selector"), age] + templateColumns()
        default: return nil
        }
    }

    static func kindCells(_ object: JSON, resource: ResourceType, name: JSON, age: JSON) -> [JSON]? {
        func value(_ path: [String], _ fallback: String = "<none>") -> JSON {
            guard let found = object[path: path] else { return .string(fallback) }
            if let text = found.stringValue { return .string(text) }
            if let number = found.intValue { return .string(String(number)) }
            if let flag = found.boolValue { return .string(String(flag)) }
            return .string(fallback)
        }
        let selector = (object[path: ["spec", "podSelector", "matchLabels"]]?.objectValue ?? [:])
            .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: ",")
        func address(_ type: String) -> String {
            let found = object[path: ["status", "addresses"]]?.arrayValue?.first { $0["type"]?.stringValue == type }
            return found?["address"]?.stringValue ?? "<none>"
        }
        let claimRef = object[path: ["spec", "claimRef"]]
        let claim =
            claimRef.map {
                "\($0["namespace"]?.stringValue ?? "")/\($0["name"]?.stringValue ?? "")"
            } ?? ""
        switch resource {
        case .nodes:
            let ready = object[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"] == "Ready" }
            let roles = (object[path: ["metadata", "labels"]]?.objectValue ?? [:]).keys
                .filter { $0.hasPrefix("node-role.kubernetes.io/") }.map {
                    $0.replacingOccurrences(of: "node-role.kubernetes.io/", with: "")
                }
            return [
                name, .string(ready?["status"] == "True" ? "Ready" : "NotReady"),
                .string(roles.isEmpty ? "<none>" : roles.sorted().joined(separator: ",")), age,
                value(["status", "nodeInfo", "kubeletVersion"], ""), .string(address("InternalIP")),
                .string(address("ExternalIP")), value(["status", "nodeInfo", "osImage"], "<unknown>"),
                value(["status", "nodeInfo", "kernelVersion"], "<unknown>"),
                value(["status", "nodeInfo", "containerRuntimeVersion"], "<unknown>"),
            ]
        case .serviceAccounts: return [name, .int(Int64(object["secrets"]?.arrayValue?.count ?? 0)), age]
        case .persistentVolumeClaims:
            return [
                name, value(["status", "phase"], "Pending"), value(["spec", "volumeName"], ""),
                value(["status", "capacity", "storage"], ""),
                .string(
                    (object[path: ["spec", "accessModes"]]?.arrayValue ?? []).compactMap(\.stringValue).joined(
                        separator: ",")),
                value(["spec", "storageClassName"], "<unset>"),
                value(["spec", "volumeAttributesClassName"], "<unset>"),
                age, value(["spec", "volumeMode"], "Filesystem"),
            ]
        case .persistentVolumes:
            return [
                name, value(["spec", "capacity", "storage"], ""),
                .string(
                    (object[path: ["spec", "accessModes"]]?.arrayValue ?? []).compactMap(\.stringValue).joined(
                        separator: ",")),
                value(["spec", "persistentVolumeReclaimPolicy"], "Retain"), value(["status", "phase"], "Available"),
                .string(claim), value(["spec", "storageClassName"], ""),
                value(["spec", "volumeAttributesClassName"], "<unset>"), value(["status", "reason"], ""), age,
                value(["spec", "volumeMode"], "Filesystem"),
            ]
        case .statefulSets:
            let ready = object[path: ["status", "readyReplicas"]]?.intValue ?? 0
            return [name, .string("\(ready)/\(object[path: ["spec", "replicas"]]?.intValue ?? 1)"), age]
                + templateCells(object, spec: ["spec", "template", "spec"])
        case .jobs:
            let succeeded = object[path: ["status", "succeeded"]]?.intValue ?? 0
            let complete =
                object[path: ["status", "conditions"]]?.arrayValue?.contains { $0["type"] == "Complete" } == true
            let failed =
                object[path: ["status", "conditions"]]?.arrayValue?.contains { $0["type"] == "Failed" } == true
            return [
                name, .string(complete ? "Complete" : failed ? "Failed" : "Running"),
                .string("\(succeeded)/\(object[path: ["spec", "completions"]]?.intValue ?? 1)"), .string(""), age,
            ] + templateCells(object, spec: ["spec", "template", "spec"])
                + [.string(selectorText(object[path: ["spec", "selector"]]))]
        case .cronJobs:
            let last = object[path: ["status", "lastScheduleTime"]]?.stringValue.flatMap(Timestamps.parse)
            return [
                name, value(["spec", "schedule"], ""), value(["spec", "timeZone"]),
                .string(object[path: ["spec", "suspend"]]?.boolValue == true ? "True" : "False"),
                .int(Int64(object[path: ["status", "active"]]?.arrayValue?.count ?? 0)),
                .string(last.map { Timestamps.humanDuration(Int(Date().timeIntervalSince($0))) } ?? "<none>"), age,
            ] + templateCells(object, spec: ["spec", "jobTemplate", "spec", "template", "spec"])
                + [.string(selectorText(object[path: ["spec", "jobTemplate", "spec", "selector"]]))]
        case .controllerRevisions:
            let owner = object[path: ["metadata", "ownerReferences"]]?.arrayValue?.first { $0["controller"] == true }
            let group = (owner?["apiVersion"]?.stringValue ?? "").split(separator: "/").dropLast().first ?? ""
            let controller = owner.map {
                "\(($0["kind"]?.stringValue ?? "").lowercased())\(group.isEmpty ? "" : ".\(group)")/"
                    + ($0["name"]?.stringValue ?? "")
            }
            return [name, .string(controller ?? "<none>"), .int(Int64(object["revision"]?.intValue ?? 0)), age]
        case .horizontalPodAutoscalers:
            let target =
                "\(object[path: ["spec", "scaleTargetRef", "kind"]]?.stringValue ?? "")/"
                + (object[path: ["spec", "scaleTargetRef", "name"]]?.stringValue ?? "")
            let metrics = (object[path: ["spec", "metrics"]]?.arrayValue ?? []).map { metric in
                let utilization = metric[path: ["resource", "target", "averageUtilization"]]?.intValue
                return
                    "\(metric[path: ["resource", "name"]]?.stringValue ?? "metric"): <unknown>/\(utilization.map { "\($0)%" } ?? "?")"
            }
            return [
                name, .string(target), .string(metrics.isEmpty ? "<none>" : metrics.joined(separator: ", ")),
                value(["spec", "minReplicas"], "1"), value(["spec", "maxReplicas"], ""),
                value(["status", "currentReplicas"], "0"), age,
            ]
        case .ingresses:
            let hosts = (object[path: ["spec", "rules"]]?.arrayValue ?? []).compactMap { $0["host"]?.stringValue }
            let tls = object[path: ["spec", "tls"]]?.arrayValue?.isEmpty == false
            return [
                name, value(["spec", "ingressClassName"], "<none>"),
                .string(hosts.isEmpty ? "*" : hosts.joined(separator: ",")), .string(""),
                .string(tls ? "80, 443" : "80"),
                age,
            ]
        case .networkPolicies: return [name, .string(selector.isEmpty ? "<none>" : selector), age]
        case .podDisruptionBudgets:
            return [
                name, value(["spec", "minAvailable"], "N/A"), value(["spec", "maxUnavailable"], "N/A"),
                value(["status", "disruptionsAllowed"], "0"), age,
            ]
        case .endpoints:
            let addresses = (object["subsets"]?.arrayValue ?? []).flatMap { subset in
                let ports = (subset["ports"]?.arrayValue ?? []).compactMap { $0["port"]?.intValue }
                return (subset["addresses"]?.arrayValue ?? []).compactMap { $0["ip"]?.stringValue }
                    .flatMap { ip in ports.map { "\(ip):\($0)" } }
            }
            return [name, .string(addresses.isEmpty ? "<none>" : addresses.joined(separator: ",")), age]
        case .replicationControllers:
            let counts = [["spec", "replicas"], ["status", "replicas"], ["status", "readyReplicas"]].map {
                JSON.int(Int64(object[path: $0]?.intValue ?? 0))
            }
            let selector = (object[path: ["spec", "selector"]]?.objectValue ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: ",")
            return [name] + counts + [age] + templateCells(object, spec: ["spec", "template", "spec"])
                + [.string(selector.isEmpty ? "<none>" : selector)]
        case .daemonSets:
            let counts = [
                "desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled",
                "numberAvailable",
            ].map { JSON.int(Int64(object[path: ["status", $0]]?.intValue ?? 0)) }
            let nodeSelector = (object[path: ["spec", "template", "spec", "nodeSelector"]]?.objectValue ?? [:])
                .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: ",")
            return [name] + counts + [.string(nodeSelector.isEmpty ? "<none>" : nodeSelector), age]
                + templateCells(object, spec: ["spec", "template", "spec"])
                + [.string(selectorText(object[path: ["spec", "selector"]]))]
        case .resourceQuotas:
            // printResourceQuota: `limits.*` in LIMIT, everything else in REQUEST, as `name: used/hard`.
            let hard = (object[path: ["spec", "hard"]]?.objectValue ?? [:]).sorted { $0.key < $1.key }
            func usage(_ entry: (key: String, value: JSON)) -> String {
                let used = object[path: ["status", "used", entry.key]]?.stringValue ?? "0"
                return "\(entry.key): \(used)/\(entry.value.stringValue ?? "")"
            }
            return [
                name, age, .string(hard.filter { !$0.key.hasPrefix("limits.") }.map(usage).joined(separator: ", ")),
                .string(hard.filter { $0.key.hasPrefix("limits.") }.map(usage).joined(separator: ", ")),
            ]
        case .limitRanges:
            return [name, value(["metadata", "creationTimestamp"], "")]
        case .componentStatuses:
            // printComponentStatus: Healthy/Unhealthy from the Healthy condition, its message and error.
            let healthy = object["conditions"]?.arrayValue?.first { $0["type"] == "Healthy" }
            return [
                name, .string(healthy?["status"] == "True" ? "Healthy" : "Unhealthy"),
                .string(healthy?["message"]?.stringValue ?? ""), .string(healthy?["error"]?.stringValue ?? ""),
            ]
        default: return nil
        }
    }
}
