import Foundation

/// Did-you-mean for every name a user types (methods, parameters, metrics, datasets, tasks,
/// options, subcommands): the candidates within a few edits of `name`, closest first, ties in
/// the order of `candidates`. One implementation so that every error message ranks the same way.
///
/// - `maxDistance`: the most edits a suggestion may be away; nil means max(2, a third of the
///   name's length), so longer names tolerate more typos.
/// - `ignoringCase`: compare lowercased spellings (suggestions keep their own spelling).
/// - `containmentIsOneEdit`: a candidate that contains the name (a prefix or any part, e.g.
///   `hotpot` in `hotpotqa`) counts as at most one edit away.
public func closestMatches(to name: String, among candidates: [String], limit: Int = 1, maxDistance: Int? = nil,
                           ignoringCase: Bool = false, containmentIsOneEdit: Bool = false) -> [String] {
    let query = ignoringCase ? name.lowercased() : name
    let allowed = maxDistance ?? max(2, query.count / 3)
    var scored: [(candidate: String, distance: Int)] = []
    for candidate in candidates {
        let spelling = ignoringCase ? candidate.lowercased() : candidate
        var distance = levenshtein(query, spelling)
        if containmentIsOneEdit, spelling.hasPrefix(query) || spelling.contains(query) { distance = min(distance, 1) }
        if distance <= allowed { scored.append((candidate, distance)) }
    }
    // Stable by construction: the index breaks ties between equal distances.
    return scored.enumerated()
        .sorted { ($0.element.distance, $0.offset) < ($1.element.distance, $1.offset) }
        .prefix(max(0, limit)).map(\.element.candidate)
}

/// Levenshtein distance over Unicode characters (insertions, deletions, substitutions), with
/// two rolling rows.
public func levenshtein(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
