import Foundation

/// Runs each Job's pod to completion: `completions` successes (one pod at a time up to `parallelism`),
/// a failed pod replaced until `backoffLimit`, then the Complete or Failed condition `kubectl wait`
/// and `get jobs` read.
struct JobController {
    let api: APIService

    func reconcile() async {
        let jobs = await api.store.list(.jobs, namespace: nil).items
        guard !jobs.isEmpty else { return }
        let pods = await api.store.list(.pods, namespace: nil).items
        for job in jobs where !job.isTerminating && !Self.isFinished(job) {
            let owned = pods.filter { $0.namespace == job.namespace && $0.controllerUID == job.uid }
            let phase = { (pod: JSON) in pod[path: ["status", "phase"]]?.stringValue }
            let succeeded = owned.filter { phase($0) == "Succeeded" }.count
            let failed = owned.filter { phase($0) == "Failed" }.count
            let active = owned.filter(PodState.isActive).count
            let completions = job[path: ["spec", "completions"]]?.intValue ?? 1
            let parallelism = job[path: ["spec", "parallelism"]]?.intValue ?? 1
            let backoffLimit = job[path: ["spec", "backoffLimit"]]?.intValue ?? 6
            var condition: (String, String, String)?
            if succeeded >= completions {
                condition = ("Complete", "", "")
            } else if failed > backoffLimit {
                condition = ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
            } else if job[path: ["spec", "suspend"]]?.boolValue != true {
                let wanted = min(parallelism, completions - succeeded) - active
                if wanted > 0 { for _ in 0..<wanted { await createPod(for: job) } }
            }
            await updateStatus(job, active: active, succeeded: succeeded, failed: failed, condition: condition)
        }
    }

    static func isFinished(_ job: JSON) -> Bool {
        (job[path: ["status", "conditions"]]?.arrayValue ?? []).contains {
            ($0["type"] == "Complete" || $0["type"] == "Failed") && $0["status"] == "True"
        }
    }

    private func createPod(for job: JSON) async {
        var pod: JSON = ["apiVersion": "v1", "kind": "Pod"]
        let template = job[path: ["spec", "template"]] ?? [:]
        pod["metadata"] = template["metadata"] ?? [:]
        pod["spec"] = template["spec"] ?? [:]
        pod[path: ["metadata", "name"]] = .string(job.name + "-" + Names.randomSuffix())
        pod[path: ["metadata", "namespace"]] = .string(job.namespace)
        pod[path: ["metadata", "labels", "job-name"]] = .string(job.name)
        pod[path: ["metadata", "labels", "batch.kubernetes.io/job-name"]] = .string(job.name)
        pod[path: ["metadata", "labels", "controller-uid"]] = .string(job.uid)
        var owner = ReplicaSetController.ownerReference(job, kind: "Job")
        owner["apiVersion"] = "batch/v1"
        pod[path: ["metadata", "ownerReferences"]] = [owner]
        _ = try? await api.create(.pods, namespace: job.namespace, body: pod)
    }

    private func updateStatus(
        _ job: JSON, active: Int, succeeded: Int, failed: Int, condition: (String, String, String)?
    ) async {
        await api.store.modify(ObjectKey(resource: .jobs, namespace: job.namespace, name: job.name)) { object in
            var status = object["status"] ?? [:]
            let now = JSON.string(Timestamps.format(Date()))
            if status["startTime"] == nil { status["startTime"] = now }
            status["active"] = active > 0 ? .int(Int64(active)) : nil
            status["succeeded"] = succeeded > 0 ? .int(Int64(succeeded)) : nil
            status["failed"] = failed > 0 ? .int(Int64(failed)) : nil
            if let (type, reason, message) = condition {
                var entry: JSON = [
                    "type": .string(type), "status": "True", "lastProbeTime": now, "lastTransitionTime": now,
                ]
                if !reason.isEmpty {
                    entry["reason"] = .string(reason)
                    entry["message"] = .string(message)
                }
                status["conditions"] = [entry]
                if type == "Complete" { status["completionTime"] = now }
            }
            if object["status"] != status { object["status"] = status }
        }
    }
}
