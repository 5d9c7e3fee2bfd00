/// Git's `wildmatch` with `WM_PATHNAME`, ported from git's wildmatch.c so that ignore patterns mean
/// exactly what they mean to git: `*` and `?` stop at `/`, `**` between slashes crosses them,
/// `[...]` classes with `!`/`^` negation and ranges, backslash escapes.
enum Wildmatch {
    private enum Outcome { case match, noMatch, abortAll, abortToStarStar }

    static func matches(pattern: [UInt8], text: [UInt8]) -> Bool {
        var p = pattern
        p.append(0)
        var t = text
        t.append(0)
        return p.withUnsafeBufferPointer { pb in
            t.withUnsafeBufferPointer { tb in match(pb, 0, tb, 0) == .match }
        }
    }

    private static let slash = UInt8(ascii: "/")
    private static let backslash = UInt8(ascii: "\\")
    private static let star = UInt8(ascii: "*")

    private static func isGlobSpecial(_ c: UInt8) -> Bool {
        c == star || c == UInt8(ascii: "?") || c == UInt8(ascii: "[") || c == backslash
    }

    private static func hasSlash(_ t: UnsafeBufferPointer<UInt8>, from: Int) -> Bool {
        var i = from
        while t[i] != 0 {
            if t[i] == slash { return true }
            i += 1
        }
        return false
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private static func match(
        _ pat: UnsafeBufferPointer<UInt8>, _ pStart: Int, _ txt: UnsafeBufferPointer<UInt8>, _ tStart: Int
    ) -> Outcome {
        var p = pStart
        var t = tStart
        while pat[p] != 0 {
            var pCh = pat[p]
            var tCh = txt[t]
            if tCh == 0 && pCh != star { return .abortAll }
            switch pCh {
            case UInt8(ascii: "?"):
                if tCh == slash { return .noMatch }
            case star:
                var matchSlash = false
                p += 1
                if pat[p] == star {
                    let prev = p - 2
                    while pat[p] == star { p += 1 }
                    let atSegmentStart = prev < 0 || pat[prev] == slash
                    let atSegmentEnd = pat[p] == 0 || pat[p] == slash || (pat[p] == backslash && pat[p + 1] == slash)
                    if atSegmentStart && atSegmentEnd {
                        if pat[p] == slash && match(pat, p + 1, txt, t) == .match { return .match }
                        matchSlash = true
                    }
                }
                if pat[p] == 0 {
                    if !matchSlash && hasSlash(txt, from: t) { return .noMatch }
                    return .match
                } else if !matchSlash && pat[p] == slash {
                    // One star followed by a slash matches the rest of this path segment.
                    while txt[t] != 0 && txt[t] != slash { t += 1 }
                    if txt[t] == 0 { return .noMatch }
                    break
                }
                while true {
                    if tCh == 0 { break }
                    if !isGlobSpecial(pat[p]) {
                        let literal = pat[p]
                        while true {
                            tCh = txt[t]
                            if tCh == 0 || (!matchSlash && tCh == slash) || tCh == literal { break }
                            t += 1
                        }
                        if tCh != literal { return matchSlash ? .abortAll : .abortToStarStar }
                    }
                    let sub = match(pat, p, txt, t)
                    if sub != .noMatch {
                        if !matchSlash || sub != .abortToStarStar { return sub }
                    } else if !matchSlash && tCh == slash {
                        return .abortToStarStar
                    }
                    t += 1
                    tCh = txt[t]
                }
                return .abortAll
            case UInt8(ascii: "["):
                guard let (matched, next) = matchClass(pat, p + 1, tCh) else { return .abortAll }
                if !matched || tCh == slash { return .noMatch }
                p = next
            default:
                if pCh == backslash {
                    p += 1
                    pCh = pat[p]
                }
                if tCh != pCh { return .noMatch }
            }
            p += 1
            t += 1
        }
        return txt[t] == 0 ? .match : .noMatch
    }

    /// Matches one character against the class starting after `[`; returns whether it matched and
    /// the index of the closing `]`, or nil for an unterminated class.
    private static func matchClass(_ pat: UnsafeBufferPointer<UInt8>, _ start: Int, _ tCh: UInt8) -> (Bool, Int)? {
        var p = start
        var pCh = pat[p]
        let negated = pCh == UInt8(ascii: "!") || pCh == UInt8(ascii: "^")
        if negated {
            p += 1
            pCh = pat[p]
        }
        var prev: UInt8 = 0
        var matched = false
        repeat {
            if pCh == 0 { return nil }
            if pCh == backslash {
                p += 1
                pCh = pat[p]
                if pCh == 0 { return nil }
                if tCh == pCh { matched = true }
            } else if pCh == UInt8(ascii: "-") && prev != 0 && pat[p + 1] != 0 && pat[p + 1] != UInt8(ascii: "]") {
                p += 1
                pCh = pat[p]
                if pCh == backslash {
                    p += 1
                    pCh = pat[p]
                    if pCh == 0 { return nil }
                }
                if tCh <= pCh && tCh >= prev { matched = true }
                pCh = 0
            } else if tCh == pCh {
                matched = true
            }
            prev = pCh
            p += 1
            pCh = pat[p]
        } while pCh != UInt8(ascii: "]")
        return (matched != negated, p)
    }
}
