import Foundation

/// RULER's common words extraction (`common_words_extraction.py`): a numbered list where
/// 10 words repeat often (30×, or 6× below 4K tokens) and the rest rarely, after one
/// answered few-shot example.
final class CommonWordsFamily: RulerFamily {
    private let template: String
    private let words: [String]
    private let commonRepeats: Int
    private let uncommonRepeats: Int
    private let commonCount: Int
    private let fewShot: Int
    private var shortContext = false

    init(template: String, words: [String], commonRepeats: Int, uncommonRepeats: Int, commonCount: Int, fewShot: Int) {
        self.template = template
        self.words = words
        self.commonRepeats = commonRepeats
        self.uncommonRepeats = uncommonRepeats
        self.commonCount = commonCount
        self.fewShot = fewShot
    }

    func prepare(seed: UInt64, length: Int, maxNewTokens: Int) throws { shortContext = length < 4096 }
    var minimumSize: Int { commonCount + 1 }
    func partialLimit(size: Int) -> Int { 0 }

    private func example(_ random: inout SeededRandom, count: Int, common: Int, uncommon: Int) -> (String, [String]) {
        // RULER falls back to a larger word list beyond its vocabulary; we cycle ours.
        var chosen = random.sample(words, count: min(count, words.count))
        while chosen.count < count { chosen.append(words[chosen.count % words.count] + "s") }
        let top = Array(chosen[0..<commonCount])
        var list = Array(repeating: top, count: common).flatMap { $0 }
            + Array(repeating: Array(chosen[commonCount...]), count: uncommon).flatMap { $0 }
        random.shuffle(&list)
        return (list.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: " "), top)
    }

    func render(random start: SeededRandom, sample: Int, size: Int, partial: Int) -> RulerRendering {
        var random = start
        var shots: [String] = []
        for _ in 0..<fewShot {
            let (context, answer) = shortContext
                ? example(&random, count: 20, common: 3, uncommon: 1)
                : example(&random, count: 40, common: 10, uncommon: 3)
            shots.append(formatTemplate(template, ["num_cw": String(commonCount), "context": context, "query": ""])
                         + " " + answer.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: " "))
        }
        let (context, answer) = shortContext
            ? example(&random, count: size, common: 6, uncommon: 1)
            : example(&random, count: size, common: commonRepeats, uncommon: uncommonRepeats)
        let text = shots.joined(separator: "\n") + "\n"
            + formatTemplate(template, ["num_cw": String(commonCount), "context": context, "query": ""])
        return RulerRendering(text: text, outputs: answer)
    }
}

/// RULER's frequent words extraction (`freq_words_extraction.py`): coded 6-letter words
/// drawn with Zipf frequencies (alpha 2); the most frequent one is the noise "...", the
/// answer is ranks 2–4.
final class FrequentWordsFamily: RulerFamily {
    private let template: String
    private let alpha: Double
    private let wordLength: Int
    private let requestedVocabulary: Int
    private var vocabularySize = 2000

    init(template: String, alpha: Double, wordLength: Int, vocabularySize: Int) {
        self.template = template
        self.alpha = alpha
        self.wordLength = wordLength
        requestedVocabulary = vocabularySize
    }

    /// RULER: vocabulary = (max_seq_length − tokens to generate) // 50 unless given.
    func prepare(seed: UInt64, length: Int, maxNewTokens: Int) throws {
        vocabularySize = requestedVocabulary > 0 ? requestedVocabulary : max(4, (length - maxNewTokens) / 50)
    }

    var minimumSize: Int { 10 }
    func partialLimit(size: Int) -> Int { 0 }

    /// Riemann zeta by direct sum plus the Euler–Maclaurin tail (alpha > 1).
    private func zeta(_ s: Double) -> Double {
        let n = 1000
        var sum = 0.0
        for k in 1..<n { sum += pow(Double(k), -s) }
        let x = Double(n)
        return sum + pow(x, 1 - s) / (s - 1) + 0.5 * pow(x, -s) + s * pow(x, -s - 1) / 12
    }

    func render(random start: SeededRandom, sample: Int, size: Int, partial: Int) -> RulerRendering {
        var random = start
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var seen = Set<String>()
        while seen.count < vocabularySize {
            seen.insert(String((0..<wordLength).map { _ in letters[random.int(in: 0...25)] }))
        }
        var vocabulary = seen.sorted()
        random.shuffle(&vocabulary)
        vocabulary[0] = "..."
        let normalizer = zeta(alpha)
        var sampled: [String] = []
        for (rank, word) in vocabulary.enumerated() {
            let count = Int(Double(size) * pow(Double(rank + 1), -alpha) / normalizer)
            if count > 0 { sampled += Array(repeating: word, count: count) }
        }
        random.shuffle(&sampled)
        let text = formatTemplate(template, ["context": sampled.joined(separator: " "), "query": ""])
        return RulerRendering(text: text, outputs: Array(vocabulary[1..<4]))
    }
}
