/// An RFC 3339 time (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh:mm)`) as a UTC instant in seconds and
/// nanoseconds. Hand-parsed: log following reads one per line, and Foundation's formatters are slow
/// and keep only microseconds.
struct RFC3339Instant: Sendable, Equatable {
    var seconds: Int64
    var nanoseconds: Int64

    init?(_ text: String) {
        let bytes = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int64? {
            guard start + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[start..<start + count] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            return value
        }
        func byte(_ index: Int, _ expected: Character...) -> Bool {
            index < bytes.count && expected.contains(Character(UnicodeScalar(bytes[index])))
        }
        guard let year = number(0, 4), byte(4, "-"), let month = number(5, 2), byte(7, "-"),
            let day = number(8, 2), byte(10, "T", "t", " "), let hour = number(11, 2), byte(13, ":"),
            let minute = number(14, 2), byte(16, ":"), let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var nanoseconds: Int64 = 0
        if byte(index, ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                if digits < 9 { nanoseconds = nanoseconds * 10 + Int64(bytes[index] - 0x30) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { nanoseconds *= 10 }
        }
        var offset: Int64 = 0
        if byte(index, "Z", "z"), index + 1 == bytes.count {
            offset = 0
        } else if byte(index, "+", "-"), index + 6 == bytes.count, let hours = number(index + 1, 2),
            byte(index + 3, ":"), let minutes = number(index + 4, 2)
        {
            offset = (hours * 60 + minutes) * 60 * (bytes[index] == 0x2D ? -1 : 1)
        } else {
            return nil
        }
        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        self.nanoseconds = nanoseconds
    }

    /// Howard Hinnant's days_from_civil: proleptic Gregorian date to days since 1970-01-01.
    static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
