import Foundation

/// A CronJob's `schedule` as the CronJob controller reads it (robfig/cron's standard parser): five
/// fields (minute, hour, day of month, month, day of week) with `*`, `?`, lists, ranges, `/` steps and
/// month and day names, or a descriptor (`@hourly`, `@daily`/`@midnight`, `@weekly`, `@monthly`,
/// `@yearly`/`@annually`, `@every DURATION`). Times are computed in a time zone (`spec.timeZone`).
struct CronSchedule: Sendable, Equatable {
    struct Invalid: Error, Equatable {
        var message: String
    }

    private var minutes: Set<Int> = []
    private var hours: Set<Int> = []
    private var days: Set<Int> = []
    private var months: Set<Int> = []
    private var weekdays: Set<Int> = []
    /// Day of month and day of week combine with "or" unless one of them is `*` or `?`.
    private var anyDay = false
    private var anyWeekday = false
    /// `@every`: a fixed interval instead of fields.
    private var interval: TimeInterval?

    init(_ text: String) throws(Invalid) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("TZ=") || trimmed.hasPrefix("CRON_TZ=") {
            throw Invalid(message: "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
        }
        if trimmed.hasPrefix("@every ") {
            guard let seconds = Self.duration(String(trimmed.dropFirst("@every ".count))), seconds >= 1 else {
                throw Invalid(message: "failed to parse duration \(trimmed)")
            }
            interval = seconds
            return
        }
        let descriptors = [
            "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
            "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
        ]
        let expanded = trimmed.hasPrefix("@") ? descriptors[trimmed] : trimmed
        guard let expanded else { throw Invalid(message: "unrecognized descriptor: \(trimmed)") }
        let fields = expanded.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count == 5 else {
            throw Invalid(
                message: "expected exactly 5 fields, found \(fields.count): [\(fields.joined(separator: " "))]")
        }
        let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        minutes = try Self.field(fields[0], 0...59, names: [:])
        hours = try Self.field(fields[1], 0...23, names: [:])
        days = try Self.field(fields[2], 1...31, names: [:])
        months = try Self.field(
            fields[3], 1...12, names: Dictionary(uniqueKeysWithValues: monthNames.enumerated().map { ($1, $0 + 1) }))
        weekdays = try Self.field(
            fields[4], 0...6, names: Dictionary(uniqueKeysWithValues: dayNames.enumerated().map { ($1, $0) }))
        anyDay = fields[2].hasPrefix("*") || fields[2].hasPrefix("?")
        anyWeekday = fields[4].hasPrefix("*") || fields[4].hasPrefix("?")
    }

    /// The first scheduled time strictly after `date`, nil if none within five years.
    func next(after date: Date, in zone: TimeZone) -> Date? {
        if let interval {
            return Date(timeIntervalSince1970: (date.timeIntervalSince1970 + interval).rounded(.down))
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let start = calendar.dateInterval(of: .minute, for: date)?.start ?? date
        guard var time = calendar.date(byAdding: .minute, value: 1, to: start) else { return nil }
        let limit = date.addingTimeInterval(5 * 366 * 86_400)
        while time < limit {
            let parts = calendar.dateComponents([.month, .day, .weekday, .hour, .minute], from: time)
            let (month, day, hour, minute) = (parts.month ?? 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0)
            if !months.contains(month) {
                time = Self.startOfNext(.month, after: time, calendar)
            } else if !dayMatches(day: day, weekday: (parts.weekday ?? 1) - 1) {
                time = Self.startOfNext(.day, after: time, calendar)
            } else if !hours.contains(hour) {
                time = Self.startOfNext(.hour, after: time, calendar)
            } else if !minutes.contains(minute) {
                time = calendar.date(byAdding: .minute, value: 1, to: time) ?? limit
            } else {
                return time
            }
        }
        return nil
    }

    private func dayMatches(day: Int, weekday: Int) -> Bool {
        let inDays = days.contains(day)
        let inWeekdays = weekdays.contains(weekday)
        return anyDay || anyWeekday ? inDays && inWeekdays : inDays || inWeekdays
    }

    private static func startOfNext(_ unit: Calendar.Component, after time: Date, _ calendar: Calendar) -> Date {
        let start = calendar.dateInterval(of: unit, for: time)?.start ?? time
        return calendar.date(byAdding: unit, value: 1, to: start) ?? time.addingTimeInterval(60)
    }

    /// One field: `*`, `?`, or a comma list of `N`, `N-M`, `*/S`, `N-M/S`, `N/S` (names allowed).
    private static func field(_ text: String, _ bounds: ClosedRange<Int>, names: [String: Int]) throws(Invalid)
        -> Set<Int>
    {
        var values: Set<Int> = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard pieces.count <= 2 else { throw Invalid(message: "too many slashes: \(part)") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else {
                    throw Invalid(message: "failed to parse int from \(pieces[1])")
                }
                step = parsed
            }
            let range: ClosedRange<Int>
            if pieces[0] == "*" || pieces[0] == "?" {
                range = bounds
            } else {
                let ends = pieces[0].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
                guard ends.count <= 2 else { throw Invalid(message: "too many hyphens: \(part)") }
                let low = try value(ends[0], names)
                let high = ends.count == 2 ? try value(ends[1], names) : (pieces.count == 2 ? bounds.upperBound : low)
                guard low >= bounds.lowerBound else {
                    throw Invalid(message: "beginning of range (\(low)) below minimum (\(bounds.lowerBound)): \(part)")
                }
                guard high <= bounds.upperBound else {
                    throw Invalid(message: "end of range (\(high)) above maximum (\(bounds.upperBound)): \(part)")
                }
                guard low <= high else {
                    throw Invalid(message: "beginning of range (\(low)) beyond end of range (\(high)): \(part)")
                }
                range = low...high
            }
            values.formUnion(stride(from: range.lowerBound, through: range.upperBound, by: step))
        }
        return values
    }

    private static func value(_ text: String, _ names: [String: Int]) throws(Invalid) -> Int {
        if let named = names[text.lowercased()] { return named }
        guard let number = Int(text), number >= 0 else { throw Invalid(message: "failed to parse int from \(text)") }
        return number
    }

    /// Go's `time.ParseDuration` for the forms `@every` takes: `90s`, `5m`, `1h30m`.
    private static func duration(_ text: String) -> TimeInterval? {
        let units: [Character: Double] = ["h": 3600, "m": 60, "s": 1]
        var total = 0.0
        var number = ""
        for character in text {
            if character.isNumber || character == "." {
                number.append(character)
            } else if let unit = units[character], let value = Double(number) {
                total += value * unit
                number = ""
            } else {
                return nil
            }
        }
        return number.isEmpty && total > 0 ? total : nil
    }
}
