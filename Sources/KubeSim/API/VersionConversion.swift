import Foundation

/// One resource served at two versions and stored at one (`ResourceType.storageVersion`), as
/// kube-apiserver converts through its internal version: autoscaling/v1 HorizontalPodAutoscalers are
/// stored as autoscaling/v2. What v1 cannot say (other metrics, behavior, conditions) is kept from the
/// live object on a write through v1, and the conditions are shown in the annotation v1 clients read.
enum VersionConversion {
    static let conditionsAnnotation = "autoscaling.alpha.kubernetes.io/conditions"

    /// The stored object as `served` shows it.
    static func toServed(_ object: JSON, _ served: ResourceType) -> JSON {
        guard served != served.storageVersion, object.objectValue != nil else { return object }
        var result = object
        if result["apiVersion"] != nil { result["apiVersion"] = .string(served.apiVersion) }
        if var spec = object["spec"], spec.objectValue != nil {
            spec["targetCPUUtilizationPercentage"] = cpuUtilization(spec["metrics"], field: "target")
            spec["metrics"] = nil
            spec["behavior"] = nil
            result["spec"] = spec
        }
        if var status = object["status"], status.objectValue != nil {
            status["currentCPUUtilizationPercentage"] = cpuUtilization(status["currentMetrics"], field: "current")
            if let conditions = status["conditions"], !(conditions.arrayValue ?? []).isEmpty {
                result[path: ["metadata", "annotations", conditionsAnnotation]] = .string(
                    String(decoding: conditions.encoded(), as: UTF8.self))
            }
            status["currentMetrics"] = nil
            status["conditions"] = nil
            result["status"] = status
        }
        return result
    }

    /// An object (or an apply configuration) at `served` as it is stored; `live`, the stored object a
    /// write replaces, gives what `served` cannot express.
    static func toStorage(_ object: JSON, _ served: ResourceType, live: JSON? = nil) -> JSON {
        guard served != served.storageVersion, object.objectValue != nil else { return object }
        var result = object
        if result["apiVersion"] != nil { result["apiVersion"] = .string(served.storageVersion.apiVersion) }
        if result[path: ["metadata", "annotations", conditionsAnnotation]] != nil {
            result[path: ["metadata", "annotations", conditionsAnnotation]] = nil
            if result[path: ["metadata", "annotations"]]?.objectValue?.isEmpty == true {
                result[path: ["metadata", "annotations"]] = nil
            }
        }
        if var spec = object["spec"], spec.objectValue != nil {
            var metrics = (live?[path: ["spec", "metrics"]]?.arrayValue ?? []).filter { !isCPUUtilization($0) }
            if let percent = spec["targetCPUUtilizationPercentage"] {
                metrics.insert(
                    [
                        "type": "Resource",
                        "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": percent]],
                    ], at: 0)
            }
            spec["targetCPUUtilizationPercentage"] = nil
            spec["metrics"] = metrics.isEmpty ? nil : .array(metrics)
            spec["behavior"] = live?[path: ["spec", "behavior"]]
            result["spec"] = spec
        }
        if var status = object["status"], status.objectValue != nil {
            var metrics = (live?[path: ["status", "currentMetrics"]]?.arrayValue ?? []).filter {
                !isCPUUtilization($0)
            }
            if let percent = status["currentCPUUtilizationPercentage"] {
                metrics.insert(
                    ["type": "Resource", "resource": ["name": "cpu", "current": ["averageUtilization": percent]]], at: 0
                )
            }
            status["currentCPUUtilizationPercentage"] = nil
            status["currentMetrics"] = metrics.isEmpty ? nil : .array(metrics)
            status["conditions"] = live?[path: ["status", "conditions"]]
            result["status"] = status
        }
        return result
    }

    /// `averageUtilization` of the CPU Resource metric, in `target` (spec) or `current` (status).
    private static func cpuUtilization(_ metrics: JSON?, field: String) -> JSON? {
        let cpu = (metrics?.arrayValue ?? []).first { metric in
            metric["type"] == "Resource" && metric[path: ["resource", "name"]] == "cpu"
                && (field == "current" || metric[path: ["resource", "target", "type"]] == "Utilization")
        }
        return cpu?[path: ["resource", field, "averageUtilization"]]
    }

    private static func isCPUUtilization(_ metric: JSON) -> Bool {
        metric["type"] == "Resource" && metric[path: ["resource", "name"]] == "cpu"
            && (metric[path: ["resource", "target", "type"]] == "Utilization"
                || metric[path: ["resource", "current", "averageUtilization"]] != nil)
    }
}
