import Foundation
import Synchronization

/// Fires each CronJob's Jobs on its schedule, as kube-controller-manager's CronJob controller does:
/// the most recent missed time since `lastScheduleTime` (or creation, bounded by
/// `startingDeadlineSeconds`) gets a Job `NAME-<minutes since the epoch>` owned by the CronJob, unless
/// suspended, or `Forbid` with one still active (`Replace` deletes those first); finished Jobs beyond
/// the history limits go, oldest first; `status.active`, `lastScheduleTime` and `lastSuccessfulTime`
/// follow. `reconcile` answers when the next time is due, so nothing wakes in between.
final class CronJobController: Sendable {
    let api: APIService
    let clock: any ControllerClock
    /// The scheduled times already reported as skipped, so each is reported once, not on every pass.
    private let skipped = Mutex<Set<String>>([])

    init(api: APIService, clock: any ControllerClock) {
        self.api = api
        self.clock = clock
    }

    /// The earliest next scheduled time among the CronJobs, nil when none is due ever.
    func reconcile() async -> Date? {
        let cronJobs = await api.store.list(.cronJobs, namespace: nil).items
        guard !cronJobs.isEmpty else { return nil }
        let jobs = await api.store.list(.jobs, namespace: nil).items
        var wake: Date?
        for cronJob in cronJobs where !cronJob.isTerminating {
            let owned = jobs.filter { $0.namespace == cronJob.namespace && $0.controllerUID == cronJob.uid }
            if let next = await sync(cronJob, owned: owned) { wake = min(wake ?? next, next) }
        }
        return wake
    }

    private func sync(_ cronJob: JSON, owned: [JSON]) async -> Date? {
        let now = clock.now()
        var active = owned.filter { !JobController.isFinished($0) && !$0.isTerminating }
        await recordFinished(cronJob, owned: owned)
        await pruneHistory(cronJob, owned: owned)
        guard let text = cronJob[path: ["spec", "schedule"]]?.stringValue, let schedule = try? CronSchedule(text),
            let zone = Self.zone(cronJob)
        else { return nil }
        var earliest =
            (cronJob[path: ["status", "lastScheduleTime"]]?.stringValue).flatMap(Timestamps.parse)
            ?? (cronJob[path: ["metadata", "creationTimestamp"]]?.stringValue).flatMap(Timestamps.parse) ?? now
        let deadline = cronJob[path: ["spec", "startingDeadlineSeconds"]]?.intValue
        if let deadline { earliest = max(earliest, now.addingTimeInterval(-Double(deadline))) }
        var scheduled: Date?
        var next = schedule.next(after: earliest, in: zone)
        var missed = 0
        while let time = next, time <= now, missed < 100_000 {
            scheduled = time
            missed += 1
            next = schedule.next(after: time, in: zone)
        }
        let suspended = cronJob[path: ["spec", "suspend"]]?.boolValue == true
        if let scheduled, !suspended {
            let name = "\(cronJob.name)-\(Int(scheduled.timeIntervalSince1970 / 60))"
            let policy = cronJob[path: ["spec", "concurrencyPolicy"]]?.stringValue ?? "Allow"
            let known = owned.contains { $0.name == name }
            if known {
                await setLastSchedule(cronJob, scheduled)
            } else if let deadline, scheduled.addingTimeInterval(Double(deadline)) < now {
                if firstReport(of: name, "MissSchedule") {
                    await event(cronJob, "MissSchedule", "Missed scheduled time to start a job: \(scheduled)", true)
                }
            } else if policy == "Forbid" && !active.isEmpty {
                if firstReport(of: name, "JobAlreadyActive") {
                    await event(
                        cronJob, "JobAlreadyActive",
                        "Not starting job because prior execution is running and concurrency policy is Forbid")
                }
            } else {
                if policy == "Replace" {
                    for job in active { await deleteJob(cronJob, job) }
                    active = []
                }
                if let job = await createJob(cronJob, name: name, scheduled: scheduled, zone: zone) {
                    active.append(job)
                }
                await setLastSchedule(cronJob, scheduled)
            }
        }
        await updateActive(cronJob, active: active, owned: owned)
        return suspended ? nil : next
    }

    /// Whether a skip of this Job name is new; the memory is bounded (forgotten past 1,000 names).
    private func firstReport(of name: String, _ reason: String) -> Bool {
        skipped.withLock { seen in
            if seen.count > 1_000 { seen.removeAll() }
            return seen.insert(name + "/" + reason).inserted
        }
    }

    static func zone(_ cronJob: JSON) -> TimeZone? {
        guard let name = cronJob[path: ["spec", "timeZone"]]?.stringValue else { return TimeZone.current }
        return TimeZone(identifier: name)
    }

    private func createJob(_ cronJob: JSON, name: String, scheduled: Date, zone: TimeZone) async -> JSON? {
        let template = cronJob[path: ["spec", "jobTemplate"]] ?? [:]
        var job: JSON = ["apiVersion": "batch/v1", "kind": "Job", "spec": template["spec"] ?? [:]]
        job["metadata"] = template["metadata"] ?? [:]
        job[path: ["metadata", "name"]] = .string(name)
        job[path: ["metadata", "namespace"]] = .string(cronJob.namespace)
        let format = Date.ISO8601FormatStyle(timeZoneSeparator: .colon, timeZone: zone)
        job[path: ["metadata", "annotations", "batch.kubernetes.io/cronjob-scheduled-timestamp"]] =
            .string(scheduled.formatted(format))
        var owner = ReplicaSetController.ownerReference(cronJob, kind: "CronJob")
        owner["apiVersion"] = "batch/v1"
        job[path: ["metadata", "ownerReferences"]] = [owner]
        guard let created = try? await api.create(.jobs, namespace: cronJob.namespace, body: job) else { return nil }
        await event(cronJob, "SuccessfulCreate", "Created job \(name)")
        return created
    }

    private func deleteJob(_ cronJob: JSON, _ job: JSON) async {
        var options = DeleteOptions()
        options.propagationPolicy = .background
        guard (try? await api.delete(.jobs, namespace: job.namespace, name: job.name, options: options)) != nil
        else { return }
        await event(cronJob, "SuccessfulDelete", "Deleted job \(job.name)")
    }

    /// A Job listed active that has finished since, seen once (`SawCompletedJob`).
    private func recordFinished(_ cronJob: JSON, owned: [JSON]) async {
        let listed = Set(
            (cronJob[path: ["status", "active"]]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
        for job in owned where listed.contains(job.name) && JobController.isFinished(job) {
            let condition = Self.finishedCondition(job) ?? ""
            await event(cronJob, "SawCompletedJob", "Saw completed job: \(job.name), condition: \(condition)")
        }
    }

    private func pruneHistory(_ cronJob: JSON, owned: [JSON]) async {
        let finished = owned.filter(JobController.isFinished).sorted {
            ($0[path: ["metadata", "creationTimestamp"]]?.stringValue ?? "", $0.name)
                < ($1[path: ["metadata", "creationTimestamp"]]?.stringValue ?? "", $1.name)
        }
        for (condition, field, fallback) in [
            ("Complete", "successfulJobsHistoryLimit", 3), ("Failed", "failedJobsHistoryLimit", 1),
        ] {
            let limit = cronJob[path: ["spec", field]]?.intValue ?? fallback
            let jobs = finished.filter { Self.finishedCondition($0) == condition && !$0.isTerminating }
            for job in jobs.dropLast(max(0, limit)) { await deleteJob(cronJob, job) }
        }
    }

    private func setLastSchedule(_ cronJob: JSON, _ scheduled: Date) async {
        let key = ObjectKey(resource: .cronJobs, namespace: cronJob.namespace, name: cronJob.name)
        await api.store.modify(key) { object in
            let time = JSON.string(Timestamps.format(scheduled))
            if object[path: ["status", "lastScheduleTime"]] != time {
                object[path: ["status", "lastScheduleTime"]] = time
            }
        }
    }

    private func updateActive(_ cronJob: JSON, active: [JSON], owned: [JSON]) async {
        let references: [JSON] = active.sorted { $0.name < $1.name }.map { job in
            [
                "apiVersion": "batch/v1", "kind": "Job", "name": .string(job.name),
                "namespace": .string(job.namespace), "uid": .string(job.uid),
                "resourceVersion": job[path: ["metadata", "resourceVersion"]] ?? "",
            ]
        }
        let succeeded = owned.filter { Self.finishedCondition($0) == "Complete" }
            .compactMap { $0[path: ["status", "completionTime"]]?.stringValue }.max()
        let key = ObjectKey(resource: .cronJobs, namespace: cronJob.namespace, name: cronJob.name)
        await api.store.modify(key) { object in
            var status = object["status"] ?? [:]
            status["active"] = references.isEmpty ? nil : .array(references)
            if let succeeded, (status["lastSuccessfulTime"]?.stringValue ?? "") < succeeded {
                status["lastSuccessfulTime"] = .string(succeeded)
            }
            if object["status"] != status { object["status"] = status }
        }
    }

    private static func finishedCondition(_ job: JSON) -> String? {
        (job[path: ["status", "conditions"]]?.arrayValue ?? []).first {
            ($0["type"] == "Complete" || $0["type"] == "Failed") && $0["status"] == "True"
        }?["type"]?.stringValue
    }

    private func event(_ cronJob: JSON, _ reason: String, _ message: String, _ warning: Bool = false) async {
        await EventRecorder(api: api).record(
            cronJob, kind: "CronJob", apiVersion: "batch/v1", reason: reason, message: message, warning: warning,
            component: "cronjob-controller")
    }
}

/// Runs the CronJob controller after each change and once more when the next scheduled time comes: one
/// sleeping task at a time, replaced when the earliest time changes. Passes never overlap (a change
/// during a pass runs one more), so a pass never acts on a list older than another pass's writes.
actor CronJobScheduler {
    private let controller: CronJobController
    private let clock: any ControllerClock
    private var wake: Task<Void, Never>?
    private var wakeAt: Date?
    private var running = false
    private var again = false

    init(api: APIService, clock: any ControllerClock) {
        self.controller = CronJobController(api: api, clock: clock)
        self.clock = clock
    }

    func reconcile() async {
        guard !running else {
            again = true
            return
        }
        running = true
        repeat {
            again = false
            schedule(await controller.reconcile())
        } while again
        running = false
    }

    func stop() {
        wake?.cancel()
        wake = nil
    }

    private func schedule(_ date: Date?) {
        guard date != wakeAt else { return }
        wake?.cancel()
        wakeAt = date
        guard let date else { return }
        wake = Task { [clock] in
            await clock.sleep(until: date)
            guard !Task.isCancelled else { return }
            await self.fired()
        }
    }

    private func fired() async {
        wakeAt = nil
        await reconcile()
    }
}
