import Foundation
import Testing

@testable import KubeSim

/// Cron schedules as the CronJob controller reads them (robfig/cron's standard parser).
@Suite struct CronScheduleTests {
    private func time(_ text: String) -> Date { Timestamps.parse(text)! }
    private let utc = TimeZone(identifier: "UTC")!

    @Test func fieldsStepsRangesAndNames() throws {
        let quarter = try CronSchedule("*/15 * * * *")
        #expect(quarter.next(after: time("2026-03-01T10:07:30Z"), in: utc) == time("2026-03-01T10:15:00Z"))
        #expect(quarter.next(after: time("2026-03-01T10:45:00Z"), in: utc) == time("2026-03-01T11:00:00Z"))
        let weekdays = try CronSchedule("30 9 * * MON-FRI")
        // 2026-03-06 is a Friday: the next is Monday the 9th.
        #expect(weekdays.next(after: time("2026-03-06T09:30:00Z"), in: utc) == time("2026-03-09T09:30:00Z"))
        let listed = try CronSchedule("0 0,12 1 jan,jul *")
        #expect(listed.next(after: time("2026-01-01T00:00:00Z"), in: utc) == time("2026-01-01T12:00:00Z"))
        #expect(listed.next(after: time("2026-01-01T12:00:00Z"), in: utc) == time("2026-07-01T00:00:00Z"))
        // Day of month and day of week both restricted: either matches.
        let either = try CronSchedule("0 0 13 * 5")
        #expect(either.next(after: time("2026-03-01T00:00:00Z"), in: utc) == time("2026-03-06T00:00:00Z"))
        #expect(either.next(after: time("2026-03-12T00:00:00Z"), in: utc) == time("2026-03-13T00:00:00Z"))
        let ranged = try CronSchedule("10-40/15 * * * *")
        #expect(ranged.next(after: time("2026-03-01T10:26:00Z"), in: utc) == time("2026-03-01T10:40:00Z"))
    }

    @Test func descriptorsAndTimeZones() throws {
        #expect(
            try CronSchedule("@hourly").next(after: time("2026-03-01T10:07:00Z"), in: utc)
                == time("2026-03-01T11:00:00Z"))
        #expect(
            try CronSchedule("@daily").next(after: time("2026-03-01T10:07:00Z"), in: utc)
                == time("2026-03-02T00:00:00Z"))
        #expect(
            try CronSchedule("@weekly").next(after: time("2026-03-01T10:07:00Z"), in: utc)
                == time("2026-03-08T00:00:00Z"))
        #expect(
            try CronSchedule("@monthly").next(after: time("2026-03-01T10:07:00Z"), in: utc)
                == time("2026-04-01T00:00:00Z"))
        #expect(
            try CronSchedule("@yearly").next(after: time("2026-03-01T10:07:00Z"), in: utc)
                == time("2027-01-01T00:00:00Z"))
        #expect(
            try CronSchedule("@every 90s").next(after: time("2026-03-01T10:07:00Z"), in: utc)
                == time("2026-03-01T10:08:30Z"))
        // 09:00 in New York is 14:00 UTC in winter.
        let york = TimeZone(identifier: "America/New_York")!
        #expect(
            try CronSchedule("0 9 * * *").next(after: time("2026-01-10T12:00:00Z"), in: york)
                == time("2026-01-10T14:00:00Z"))
    }

    @Test func invalidSchedulesSayWhy() {
        #expect(throws: CronSchedule.Invalid(message: "expected exactly 5 fields, found 1: [bogus]")) {
            try CronSchedule("bogus")
        }
        #expect(throws: CronSchedule.Invalid.self) { try CronSchedule("61 * * * *") }
        #expect(throws: CronSchedule.Invalid.self) { try CronSchedule("* * * * * *") }
        #expect(throws: CronSchedule.Invalid.self) { try CronSchedule("@fortnightly") }
        #expect(throws: CronSchedule.Invalid.self) { try CronSchedule("CRON_TZ=UTC * * * * *") }
    }
}

/// The CronJob controller, judged by the real kubectl against a kubesim (bubblewrap pods) whose clock
/// the test moves:
/// Jobs fire on the schedule, named by the minute and owned by the CronJob; status, suspension,
/// concurrency policies, history limits and `kubectl create job --from=cronjob/…`.
@Suite(.serialized) struct CronJobControllerTests {
    static let manifest = """
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: tick, namespace: default}
        spec:
          schedule: "*/1 * * * *"
          timeZone: Etc/UTC
          concurrencyPolicy: Forbid
          successfulJobsHistoryLimit: 2
          jobTemplate:
            metadata: {labels: {made-by: tick}}
            spec:
              template:
                spec:
                  restartPolicy: Never
                  terminationGracePeriodSeconds: 1
                  containers:
                  - {name: tick, image: busybox, command: [sh, -c, 'echo tick']}
        """

    @Test func firesOnScheduleWithStatusPoliciesAndHistory() async throws {
        let directory = temporaryDirectory("cron")
        let clock = ManualClock(now: Date())
        let server = try await KubeSimServer.start(directory: directory, options: .init(clock: clock))
        defer { try? FileManager.default.removeItem(at: directory) }
        let kubectl = Kubectl(kubeconfig: server.kubeconfigPath)
        let file = directory.appendingPathComponent("cron.yaml")
        try Data(Self.manifest.utf8).write(to: file)
        let applied = try await kubectl.run(["apply", "-f", file.path])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try await jobNames(kubectl).isEmpty, "nothing fires before the first scheduled minute")

        // The next minute comes: one Job, named by its minute, owned by the CronJob.
        let first = try await firstMinute(kubectl, clock)
        clock.advance(to: first.addingTimeInterval(1))
        let name = "tick-\(Int(first.timeIntervalSince1970 / 60))"
        try await eventually("\(name) is created") { try await jobNames(kubectl) == [name] }
        let job = try await object(kubectl, ["job", name])
        #expect(job[path: ["metadata", "ownerReferences"]]?.arrayValue?.first?["kind"] == "CronJob")
        #expect(job[path: ["metadata", "labels", "made-by"]] == "tick")
        #expect(
            job[path: ["metadata", "annotations", "batch.kubernetes.io/cronjob-scheduled-timestamp"]]?.stringValue
                == Timestamps.format(first))
        try await eventually("it completes and the CronJob saw it", timeout: .seconds(60)) {
            let cron = try await object(kubectl, ["cronjob", "tick"])
            return cron[path: ["status", "lastSuccessfulTime"]] != nil && cron[path: ["status", "active"]] == nil
        }
        let cron = try await object(kubectl, ["cronjob", "tick"])
        #expect(cron[path: ["status", "lastScheduleTime"]]?.stringValue == Timestamps.format(first))
        let table = try await kubectl.run(["get", "cronjob", "tick", "--no-headers"])
        let cells = table.stdout.replacingOccurrences(of: "\\s{2,}", with: "|", options: .regularExpression)
        #expect(cells.hasPrefix("tick|*/1 * * * *|Etc/UTC|False|0|"), "\(table.stdout)")

        // Two more minutes: three Jobs made, two kept (successfulJobsHistoryLimit).
        for minute in 1...2 {
            let time = first.addingTimeInterval(Double(60 * minute))
            clock.advance(to: time.addingTimeInterval(1))
            let made = "tick-\(Int(time.timeIntervalSince1970 / 60))"
            try await eventually("\(made) completes") {
                try await kubectl.run(["get", "job", made, "-o", "jsonpath={.status.succeeded}"]).stdout == "1"
            }
        }
        try await eventually("the oldest Job is pruned") { try await jobNames(kubectl).count == 2 }
        #expect(!(try await jobNames(kubectl)).contains(name))

        // Suspended: the next minute fires nothing.
        #expect(try await kubectl.run(["patch", "cronjob", "tick", "-p", #"{"spec":{"suspend":true}}"#]).status == 0)
        let suspendedMinute = first.addingTimeInterval(180)
        clock.advance(to: suspendedMinute.addingTimeInterval(1))
        let events = try await kubectl.run([
            "get", "events", "--field-selector", "involvedObject.name=tick", "-o", "jsonpath={.items[*].reason}",
        ])
        #expect(events.stdout.contains("SuccessfulCreate") && events.stdout.contains("SawCompletedJob"))
        #expect(events.stdout.contains("SuccessfulDelete"), "\(events.stdout)")
        #expect(!(try await jobNames(kubectl)).contains("tick-\(Int(suspendedMinute.timeIntervalSince1970 / 60))"))

        // By hand, from the CronJob's template.
        let manual = try await kubectl.run(["create", "job", "by-hand", "--from=cronjob/tick"])
        #expect(manual.status == 0, "\(manual.stderr)")
        try await eventually("the manual Job completes") {
            try await kubectl.run(["get", "job", "by-hand", "-o", "jsonpath={.status.succeeded}"]).stdout == "1"
        }
        #expect(try await kubectl.run(["logs", "job/by-hand"]).stdout == "tick\n")
        await server.stop()
    }

    /// Forbid skips a time while a Job runs; Replace deletes the running one and starts anew.
    @Test func forbidSkipsAndReplaceReplaces() async throws {
        let directory = temporaryDirectory("cron-policy")
        let clock = ManualClock(now: Date())
        let server = try await KubeSimServer.start(directory: directory, options: .init(clock: clock))
        defer { try? FileManager.default.removeItem(at: directory) }
        let kubectl = Kubectl(kubeconfig: server.kubeconfigPath)
        let file = directory.appendingPathComponent("cron.yaml")
        try Data(Self.manifest.replacingOccurrences(of: "echo tick", with: "sleep 600").utf8).write(to: file)
        #expect(try await kubectl.run(["apply", "-f", file.path]).status == 0)
        let first = try await firstMinute(kubectl, clock)
        clock.advance(to: first.addingTimeInterval(1))
        let firstName = "tick-\(Int(first.timeIntervalSince1970 / 60))"
        try await eventually("the first Job runs") { try await jobNames(kubectl) == [firstName] }
        clock.advance(to: first.addingTimeInterval(61))
        try await eventually("Forbid says why it starts nothing") {
            let events = try await kubectl.run([
                "get", "events", "--field-selector", "involvedObject.name=tick", "-o", "jsonpath={.items[*].reason}",
            ])
            return events.stdout.contains("JobAlreadyActive")
        }
        #expect(try await jobNames(kubectl) == [firstName])
        let reasons = try await kubectl.run([
            "get", "events", "--field-selector", "involvedObject.name=tick", "-o", "jsonpath={.items[*].reason}",
        ])
        #expect(reasons.stdout.components(separatedBy: "JobAlreadyActive").count == 2, "reported once")

        #expect(
            try await kubectl.run(["patch", "cronjob", "tick", "-p", #"{"spec":{"concurrencyPolicy":"Replace"}}"#])
                .status == 0)
        let third = first.addingTimeInterval(120)
        clock.advance(to: third.addingTimeInterval(1))
        let thirdName = "tick-\(Int(third.timeIntervalSince1970 / 60))"
        try await eventually("Replace deleted the running Job and started the new one") {
            try await jobNames(kubectl) == [thirdName]
        }
        let active = try await kubectl.run(["get", "cronjob", "tick", "-o", "jsonpath={.status.active[*].name}"])
        #expect(active.stdout == thirdName)
        await server.stop()
    }

    /// The first minute the CronJob fires at: the one after its creation (the real time, which may have
    /// passed a minute boundary since the test clock was made).
    private func firstMinute(_ kubectl: Kubectl, _ clock: ManualClock) async throws -> Date {
        let created = try await object(kubectl, ["cronjob", "tick"])[path: ["metadata", "creationTimestamp"]]
        let creation = try #require(created?.stringValue.flatMap(Timestamps.parse))
        return nextMinute(after: max(clock.now(), creation))
    }

    private func nextMinute(after date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60)
    }

    private func jobNames(_ kubectl: Kubectl) async throws -> [String] {
        let result = try await kubectl.run(["get", "jobs", "-o", "jsonpath={.items[*].metadata.name}"])
        return result.stdout.split(separator: " ").map(String.init).filter { $0.hasPrefix("tick-") }.sorted()
    }

    private func object(_ kubectl: Kubectl, _ what: [String]) async throws -> JSON {
        try JSON.parse(Data(try await kubectl.run(["get"] + what + ["-o", "json"]).stdout.utf8))
    }
}
