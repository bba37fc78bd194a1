import Foundation

/// Python's `difflib.SequenceMatcher(None, a, b).ratio()` on code points: Ratcliff/Obershelp
/// matching (longest matching block, then recurse left and right), with difflib's
/// "autojunk" heuristic (for `b` of 200+ elements, elements occurring more than
/// `len(b) // 100 + 1` times are not used to seed matches, though blocks still extend over
/// them). ratio = 2·M / (len(a) + len(b)), 1 when both are empty.
struct SequenceMatcher {
    typealias Scalars = PythonText.Scalars

    let a: Scalars
    let b: Scalars
    /// Positions of each element of `b`, ascending; popular elements removed (`b2j`).
    private var positions: [Unicode.Scalar: [Int]] = [:]

    init(_ a: Scalars, _ b: Scalars) {
        self.a = a
        self.b = b
        for (j, element) in b.enumerated() { positions[element, default: []].append(j) }
        if b.count >= 200 {
            let threshold = b.count / 100 + 1
            positions = positions.filter { $0.value.count <= threshold }
        }
    }

    /// `find_longest_match(alo, ahi, blo, bhi)`, earliest in `a` then in `b` on ties.
    func longestMatch(_ alo: Int, _ ahi: Int, _ blo: Int, _ bhi: Int) -> (i: Int, j: Int, size: Int) {
        var besti = alo, bestj = blo, bestsize = 0
        var lengthEndingAt: [Int: Int] = [:]
        for i in alo..<ahi {
            var next: [Int: Int] = [:]
            for j in positions[a[i]] ?? [] {
                if j < blo { continue }
                if j >= bhi { break }
                let k = (lengthEndingAt[j - 1] ?? 0) + 1
                next[j] = k
                if k > bestsize { besti = i - k + 1; bestj = j - k + 1; bestsize = k }
            }
            lengthEndingAt = next
        }
        // With no junk function every element is non-junk, so blocks grow over equal
        // (possibly popular) neighbours on both sides.
        while besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1] {
            besti -= 1; bestj -= 1; bestsize += 1
        }
        while besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] == b[bestj + bestsize] {
            bestsize += 1
        }
        return (besti, bestj, bestsize)
    }

    /// Total size of `get_matching_blocks()`.
    func matchingCharacters() -> Int {
        var total = 0
        var queue = [(0, a.count, 0, b.count)]
        while let (alo, ahi, blo, bhi) = queue.popLast() {
            let match = longestMatch(alo, ahi, blo, bhi)
            guard match.size > 0 else { continue }
            total += match.size
            if alo < match.i && blo < match.j { queue.append((alo, match.i, blo, match.j)) }
            if match.i + match.size < ahi && match.j + match.size < bhi {
                queue.append((match.i + match.size, ahi, match.j + match.size, bhi))
            }
        }
        return total
    }

    func ratio() -> Double {
        let length = a.count + b.count
        return length == 0 ? 1.0 : 2.0 * Double(matchingCharacters()) / Double(length)
    }
}

/// LongBench's `code_sim_score`: the first line of the prediction (after leading newlines)
/// that contains none of "`", "#", "//" anywhere, scored by `fuzz.ratio(line, reference)/100`.
///
/// fuzzywuzzy 0.18 `ratio`: 100 if the strings are equal, 0 if either is empty, else
/// `int(round(100 · SequenceMatcher(None, s1, s2).ratio()))` with Python's half-to-even
/// rounding. We follow fuzzywuzzy's pure-Python path (difflib); with python-Levenshtein
/// installed fuzzywuzzy uses Levenshtein's indel ratio instead, which can differ by a point.
enum CodeSimilarity {
    static func score(prediction: String, reference: String) -> Double {
        let lines = PythonText.split(PythonText.scalars(stripLeadingNewlines(prediction)), on: "\n")
        let backtick = PythonText.scalars("`"), hash = PythonText.scalars("#"), slashes = PythonText.scalars("//")
        let line = lines.first { line in
            !PythonText.contains(line, backtick) && !PythonText.contains(line, hash) && !PythonText.contains(line, slashes)
        } ?? []
        return Double(fuzzRatio(line, PythonText.scalars(reference))) / 100
    }

    static func fuzzRatio(_ s1: PythonText.Scalars, _ s2: PythonText.Scalars) -> Int {
        if s1 == s2 { return 100 }
        if s1.isEmpty || s2.isEmpty { return 0 }
        return Int(PythonText.roundHalfEven(100 * SequenceMatcher(s1, s2).ratio()))
    }

    private static func stripLeadingNewlines(_ text: String) -> String {
        String(text.unicodeScalars.drop { $0 == "\n" })
    }
}
