/// Python's `str.format` for named placeholders, in one left-to-right pass so that braces
/// inside substituted text (a context with code) are never read as placeholders. Unknown
/// `{name}` stays as written.
func formatTemplate(_ template: String, _ values: [String: String]) -> String {
    var result = ""
    var rest = Substring(template)
    while let open = rest.firstIndex(of: "{") {
        result += rest[..<open]
        let after = rest[rest.index(after: open)...]
        if let close = after.firstIndex(of: "}"), let value = values[String(after[..<close])] {
            result += value
            rest = after[after.index(after: close)...]
        } else {
            result += "{"
            rest = after
        }
    }
    return result + rest
}

/// RULER's noise haystack sentence group (niah_single_1, vt).
let noiseHaystack = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."

/// The five sentences of `noiseHaystack`, for partial noise lines.
let noiseSentences = ["The grass is green.", "The sky is blue.", "The sun is yellow.", "Here we go.", "There and back again."]

/// RULER's needle depths: `np.round(np.linspace(0, 100, num=40)).astype(int)`.
let rulerDepths: [Int] = (0..<40).map { i in Int((Double(i) * 100.0 / 39.0).rounded(.toNearestOrEven)) }
