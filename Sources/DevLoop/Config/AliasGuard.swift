/// Yams's composer expands aliases by sharing nodes, which is cheap, but it hashes every mapping key
/// to find duplicates, and a key that is an alias of a nested collection (a "billion laughs" key)
/// costs the full expansion. This scan refuses, before Yams runs, a text that has aliases and also
/// something that may be a collection or alias used as a key. It is deliberately conservative: it
/// knows quotes and comments, not block scalars, so it can refuse a rare valid file that uses both.
enum AliasGuard {
    static func check(_ text: String, file: String) throws {
        let scalars = Array(text.unicodeScalars)
        var aliasSeen = false
        var suspectKey: (line: Int, column: Int)?
        var (line, column) = (1, 1)
        var index = 0
        var previous: Unicode.Scalar = "\n"

        func advance() {
            if scalars[index] == "\n" { (line, column) = (line + 1, 1) } else { column += 1 }
            previous = scalars[index]
            index += 1
        }
        func next(_ offset: Int) -> Unicode.Scalar? {
            index + offset < scalars.count ? scalars[index + offset] : nil
        }
        func colonFollows(from start: Int) -> Bool {
            var at = start
            while at < scalars.count, scalars[at] == " " || scalars[at] == "\t" { at += 1 }
            guard at < scalars.count, scalars[at] == ":" else { return false }
            return at + 1 == scalars.count || startsToken(after: scalars[at + 1])
                || "]}".unicodeScalars.contains(scalars[at + 1])
        }

        while index < scalars.count {
            let scalar = scalars[index]
            let atTokenStart = startsToken(after: previous)
            switch scalar {
            case "#" where previous == " " || previous == "\t" || previous == "\n":
                while index < scalars.count, scalars[index] != "\n" { advance() }
                continue
            case "'" where atTokenStart:
                advance()
                while index < scalars.count {
                    if scalars[index] == "'" {
                        if next(1) == "'" { advance() } else { break }
                    }
                    advance()
                }
            case "\"" where atTokenStart:
                advance()
                while index < scalars.count, scalars[index] != "\"" {
                    if scalars[index] == "\\" && index + 1 < scalars.count { advance() }
                    advance()
                }
            case "*" where atTokenStart && next(1).map(isAnchorCharacter) == true:
                aliasSeen = true
                let (aliasLine, aliasColumn) = (line, column)
                var end = index + 1
                while end < scalars.count, isAnchorCharacter(scalars[end]) { end += 1 }
                if suspectKey == nil, colonFollows(from: end) { suspectKey = (aliasLine, aliasColumn) }
            case "?" where atTokenStart && (next(1) == " " || next(1) == "\n" || next(1) == "\t"):
                if suspectKey == nil { suspectKey = (line, column) }
            case "]", "}":
                if suspectKey == nil, colonFollows(from: index + 1) { suspectKey = (line, column) }
            default:
                break
            }
            if index < scalars.count { advance() }
            if aliasSeen, let key = suspectKey {
                throw ConfigError(
                    file: file, line: key.line, column: key.column, field: ConfigError.wholeFile,
                    message: "a mapping key that is an alias or a collection, in a file with aliases, is refused "
                        + "(an alias bomb as a key would expand without bound)")
            }
        }
    }

    private static func startsToken(after previous: Unicode.Scalar) -> Bool {
        switch previous {
        case " ", "\t", "\n", "\r", "[", "{", ",", "-", ":": true
        default: false
        }
    }

    /// libyaml's anchor characters: ASCII letters, digits, `-` and `_`.
    private static func isAnchorCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_": true
        default: false
        }
    }
}
