/// RULER's needle-in-a-haystack family (`niah.py`): keys and values of words, 7-digit numbers
/// or UUIDs, hidden at RULER's depths in noise, essay or distractor-needle haystacks.
final class NeedleFamily: RulerFamily {
    enum Haystack: String { case noise, essay, needle }
    enum ValueType: String { case words, numbers, uuids }

    private let template: String
    private let typeName: String
    private let resources: RulerResources
    private let haystack: Haystack
    private let keyType: ValueType
    private let valueType: ValueType
    private let keyCount: Int
    private let valueCount: Int
    private let queryCount: Int
    static let needleFormat = "One of the special magic {type_needle_v} for {key} is: {value}."

    init(template: String, resources: RulerResources, haystack: Haystack, keyType: ValueType, valueType: ValueType,
         keyCount: Int, valueCount: Int, queryCount: Int) {
        self.resources = resources
        self.haystack = haystack
        self.keyType = keyType
        self.valueType = valueType
        self.keyCount = max(keyCount, queryCount)
        self.valueCount = valueCount
        self.queryCount = queryCount
        // RULER: with one value asked, the template is worded in the singular.
        if queryCount * valueCount == 1 {
            self.template = template.replacingOccurrences(of: "Some", with: "A")
                .replacingOccurrences(of: "are all", with: "is")
                .replacingOccurrences(of: "are", with: "is")
                .replacingOccurrences(of: "answers", with: "answer")
            typeName = String(valueType.rawValue.dropLast())
        } else {
            self.template = template
            typeName = valueType.rawValue
        }
    }

    func prepare(seed: UInt64, length: Int, maxNewTokens: Int) throws {}

    var minimumSize: Int { haystack == .essay ? 10 : keyCount * valueCount }

    func partialLimit(size: Int) -> Int {
        switch haystack {
        case .essay: return 0
        case .noise: return noiseSentences.count
        // Characters of one more distractor needle: UUID keys and values are single words of
        // ~25 tokens, too coarse to land within 2% of a 1K target by whole words.
        case .needle: return 160
        }
    }

    private func draw(_ type: ValueType, _ random: inout SeededRandom) -> String {
        switch type {
        case .numbers: return String(random.int(in: 1_000_000...9_999_999))
        case .words: return resources.wordKey(&random)
        case .uuids: return random.uuid()
        }
    }

    private func needle(key: String, value: String) -> String {
        // Needles keep the plural type name, as in RULER (only the template is singularized).
        formatTemplate(NeedleFamily.needleFormat, ["type_needle_v": valueType.rawValue, "key": key, "value": value])
    }

    func render(random start: SeededRandom, sample: Int, size: Int, partial: Int) -> RulerRendering {
        var random = start
        var keys: [String] = [], values: [[String]] = [], needles: [String] = []
        for _ in 0..<keyCount {
            keys.append(draw(keyType, &random))
            var row: [String] = []
            for _ in 0..<valueCount {
                row.append(draw(valueType, &random))
                needles.append(needle(key: keys[keys.count - 1], value: row[row.count - 1]))
            }
            values.append(row)
        }
        random.shuffle(&needles)

        var depths: [Int] = []
        let context: String
        if haystack == .essay {
            context = essayContext(size: size, needles: needles, random: &random, depths: &depths)
        } else {
            var lines: [String]
            if haystack == .noise {
                lines = Array(repeating: noiseHaystack, count: size)
                if partial > 0 { lines.append(noiseSentences[0..<partial].joined(separator: " ")) }
            } else {
                lines = (0..<size).map { _ in needle(key: draw(keyType, &random), value: draw(valueType, &random)) }
                if partial > 0 {
                    let extra = needle(key: draw(keyType, &random), value: draw(valueType, &random))
                    lines.append(String(extra.prefix(partial)))
                }
            }
            let indexes = random.sample(Array(0..<lines.count), count: needles.count).sorted(by: >)
            for (index, needle) in zip(indexes, needles) { lines.insert(needle, at: index) }
            depths = indexes.reversed().map { Int((100.0 * Double($0) / Double(max(1, lines.count - needles.count))).rounded()) }
            context = lines.joined(separator: "\n")
        }

        let picked = random.sample(Array(0..<keyCount), count: queryCount)
        let queries = picked.map { keys[$0] }
        let answers = picked.flatMap { values[$0] }
        let query = queries.count > 1
            ? queries.dropLast().joined(separator: ", ") + ", and " + queries[queries.count - 1] : queries[0]
        let text = formatTemplate(template, ["type_needle_v": typeName, "context": context, "query": query])
        return RulerRendering(text: text, outputs: answers, depths: depths)
    }

    /// RULER's essay haystack: the first `size` words (repeated when short), split into
    /// sentences, needles inserted at `int(sentences · depth / 100)` for depths sampled from
    /// RULER's 40-point grid.
    private func essayContext(size: Int, needles: [String], random: inout SeededRandom, depths: inout [Int]) -> String {
        let words = resources.essayWords
        var sentences: [String] = []
        var current: [String] = []
        for i in 0..<size {
            let word = words[i % words.count]
            current.append(word)
            if endsSentence(word) { sentences.append(current.joined(separator: " ")); current.removeAll() }
        }
        if !current.isEmpty { sentences.append(current.joined(separator: " ")) }
        let chosen = random.sample(rulerDepths, count: needles.count)
        let ordered = chosen.map { (depth: $0, position: Int(Double(sentences.count) * Double($0) / 100.0)) }
            .sorted { ($0.position, $0.depth) < ($1.position, $1.depth) }
        depths = ordered.map(\.depth)
        let positions = [0] + ordered.map(\.position) + [sentences.count]
        var pieces: [String] = []
        for i in 1..<positions.count {
            pieces.append(sentences[positions[i - 1]..<positions[i]].joined(separator: " "))
            if i - 1 < needles.count { pieces.append(needles[i - 1]) }
        }
        return pieces.joined(separator: " ")
    }
}

/// A word closes a sentence when it ends in . ! or ? before closing quotes or brackets
/// (a plain stand-in for NLTK's Punkt splitter, which RULER uses).
func endsSentence(_ word: String) -> Bool {
    var scalars = word.unicodeScalars.reversed().drop { "\"')]’”".unicodeScalars.contains($0) }.makeIterator()
    guard let last = scalars.next() else { return false }
    return last == "." || last == "!" || last == "?"
}
