import Foundation

/// The official scorers are Python; their results depend on Python's string semantics:
/// strings are sequences of code points (not grapheme clusters), `in` is a code-point
/// substring test, `split()` splits on Python's whitespace set, and `\w`, `\d` in `re` are
/// Unicode-aware. These helpers reproduce exactly those semantics on `[Unicode.Scalar]`,
/// because Swift's `String` compares by canonical equivalence and iterates by Character.
enum PythonText {
    typealias Scalars = [Unicode.Scalar]

    static func scalars(_ text: String) -> Scalars { Array(text.unicodeScalars) }

    static func string(_ scalars: Scalars) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    /// `str.isspace()` for one code point: Python's set (bidi WS/B/S or category Zs).
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029,
             0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `str.split()` with no argument: runs of whitespace separate, no empty pieces.
    static func splitWhitespace(_ text: Scalars) -> [Scalars] {
        var pieces: [Scalars] = []
        var current: Scalars = []
        for c in text {
            if isSpace(c) {
                if !current.isEmpty { pieces.append(current); current = [] }
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    /// `str.split(sep)` with an explicit one-character separator: keeps empty pieces.
    static func split(_ text: Scalars, on separator: Unicode.Scalar) -> [Scalars] {
        var pieces: [Scalars] = []
        var current: Scalars = []
        for c in text {
            if c == separator { pieces.append(current); current = [] } else { current.append(c) }
        }
        pieces.append(current)
        return pieces
    }

    /// `str.lower()`; Python and Swift both apply Unicode's full lowercase mapping.
    static func lower(_ text: String) -> String { text.lowercased() }

    /// `\w` in a Python 3 `str` pattern: alphanumeric (letters, numbers) or underscore.
    static func isWordCharacter(_ c: Unicode.Scalar) -> Bool {
        if c == "_" { return true }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return c.properties.numericType != nil
        }
    }

    /// `\d` in a Python 3 `str` pattern: any Unicode decimal digit (category Nd).
    static func isDecimalDigit(_ c: Unicode.Scalar) -> Bool {
        c.properties.generalCategory == .decimalNumber
    }

    /// `re.findall(r"\d+", text)`.
    static func digitRuns(_ text: Scalars) -> [Scalars] {
        var runs: [Scalars] = []
        var current: Scalars = []
        for c in text {
            if isDecimalDigit(c) { current.append(c) } else if !current.isEmpty { runs.append(current); current = [] }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// `needle in haystack` for Python strings (code-point substring; "" is in everything).
    static func contains(_ haystack: Scalars, _ needle: Scalars) -> Bool {
        firstIndex(of: needle, in: haystack, from: 0) != nil
    }

    /// Start of the first occurrence of `needle` in `haystack` at or after `start`.
    static func firstIndex(of needle: Scalars, in haystack: Scalars, from start: Int) -> Int? {
        if needle.isEmpty { return start <= haystack.count ? start : nil }
        guard haystack.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] {
                var k = 1
                while k < needle.count && haystack[i + k] == needle[k] { k += 1 }
                if k == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    /// `re.findall(prefix + r"(\d+)", text)[0]`: the digits after the first occurrence of
    /// `prefix` that is followed by at least one digit.
    static func firstNumber(after prefix: Scalars, in text: Scalars) -> Scalars? {
        var from = 0
        while let start = firstIndex(of: prefix, in: text, from: from) {
            var end = start + prefix.count
            while end < text.count && isDecimalDigit(text[end]) { end += 1 }
            if end > start + prefix.count { return Array(text[(start + prefix.count)..<end]) }
            from = start + 1
        }
        return nil
    }

    /// `prediction.lstrip('\n').split('\n')[0]`: LongBench's first-line rule.
    static func firstLine(_ text: String) -> String {
        var scalars = scalars(text)[...]
        while scalars.first == "\n" { scalars.removeFirst() }
        if let newline = scalars.firstIndex(of: "\n") { return string(Array(scalars[..<newline])) }
        return string(Array(scalars))
    }

    /// Python 3's `round(x)` on a float: halves go to the even integer.
    static func roundHalfEven(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }
}
