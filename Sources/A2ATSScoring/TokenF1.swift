import Foundation

/// LongBench's `qa_f1_score` and `qa_f1_zh_score` (THUDM/LongBench metrics.py), the
/// SQuAD-style token F1 after answer normalization.
enum TokenF1 {
    typealias Scalars = PythonText.Scalars

    /// `string.punctuation`: the ASCII punctuation `normalize_answer` removes.
    static let asciiPunctuation = Set(##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##.unicodeScalars)

    /// `normalize_zh_answer` removes these as well as `string.punctuation`.
    static let chinesePunctuation = asciiPunctuation.union(
        Array("！？｡。＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘’‛“”„‟…‧﹏.".unicodeScalars))

    /// `normalize_answer`: lower, remove punctuation, replace the articles a/an/the (as whole
    /// `\b` words) by a space, collapse white space.
    static func normalize(_ text: String) -> Scalars {
        let lowered = PythonText.scalars(PythonText.lower(text))
        let unpunctuated = lowered.filter { !asciiPunctuation.contains($0) }
        let noArticles = removeArticles(unpunctuated)
        var out: Scalars = []
        for (i, word) in PythonText.splitWhitespace(noArticles).enumerated() {
            if i > 0 { out.append(" ") }
            out.append(contentsOf: word)
        }
        return out
    }

    private static let articles: [Scalars] = ["a", "an", "the"].map { Array($0.unicodeScalars) }

    /// `re.sub(r"\b(a|an|the)\b", " ", text)`: scans left to right, trying the alternatives
    /// in the regex's order, each needing a word boundary on both sides.
    static func removeArticles(_ text: Scalars) -> Scalars {
        var out: Scalars = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            let boundaryBefore = i == 0 || !PythonText.isWordCharacter(text[i - 1])
            var matched = 0
            if boundaryBefore {
                for article in articles where i + article.count <= text.count {
                    guard Array(text[i..<(i + article.count)]) == article else { continue }
                    let end = i + article.count
                    if end == text.count || !PythonText.isWordCharacter(text[end]) {
                        matched = article.count
                        break
                    }
                }
            }
            if matched > 0 {
                out.append(" ")
                i += matched
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    /// `f1_score`: overlap is the multiset (Counter) intersection of the two token lists.
    static func f1(_ prediction: [Scalars], _ reference: [Scalars]) -> Double {
        var counts: [Scalars: Int] = [:]
        for token in reference { counts[token, default: 0] += 1 }
        var same = 0
        for token in prediction {
            if let remaining = counts[token], remaining > 0 {
                counts[token] = remaining - 1
                same += 1
            }
        }
        if same == 0 { return 0 }
        let precision = Double(same) / Double(prediction.count)
        let recall = Double(same) / Double(reference.count)
        return 2 * precision * recall / (precision + recall)
    }

    /// `qa_f1_score`.
    static func english(prediction: String, reference: String) -> Double {
        f1(PythonText.splitWhitespace(normalize(prediction)), PythonText.splitWhitespace(normalize(reference)))
    }

    /// `qa_f1_zh_score` with jieba replaced by `ChineseWords.split`; each word is lowered and
    /// stripped of punctuation and white space as `normalize_zh_answer` does, empties dropped.
    static func chinese(prediction: String, reference: String) -> Double {
        f1(chineseTokens(prediction), chineseTokens(reference))
    }

    static func chineseTokens(_ text: String) -> [Scalars] {
        ChineseWords.split(text).compactMap { word in
            let lowered = PythonText.scalars(PythonText.lower(PythonText.string(word)))
            let kept = lowered.filter { !chinesePunctuation.contains($0) && !PythonText.isSpace($0) }
            return kept.isEmpty ? nil : kept
        }
    }
}

/// Stand-in for `jieba.cut(text, cut_all=False)`, which is not available here: every CJK
/// character is its own word, runs of ASCII letters and digits stay whole (as jieba keeps
/// English words and numbers), white space runs are single tokens, and any other character
/// stands alone. Scores of Chinese datasets therefore approximate the official ones.
enum ChineseWords {
    static func split(_ text: String) -> [PythonText.Scalars] {
        var words: [PythonText.Scalars] = []
        var run: PythonText.Scalars = []
        var runIsSpace = false
        func flush() { if !run.isEmpty { words.append(run); run = [] } }
        for c in text.unicodeScalars {
            let isAlnum = c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c))
            let isSpace = PythonText.isSpace(c)
            if isAlnum {
                if runIsSpace { flush() }
                runIsSpace = false
                run.append(c)
            } else if isSpace {
                if !runIsSpace { flush() }
                runIsSpace = true
                run.append(c)
            } else {
                flush()
                words.append([c])
            }
        }
        flush()
        return words
    }

    /// `" ".join(jieba.cut(text))` under the same approximation, as `rouge_zh_score` feeds
    /// the result to ROUGE.
    static func spaced(_ text: String) -> String {
        split(text).map(PythonText.string).joined(separator: " ")
    }
}
