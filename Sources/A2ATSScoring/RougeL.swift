import Foundation

/// ROUGE-L F as LongBench's `rouge_score` gets it: `Rouge().get_scores([prediction],
/// [ground_truth], avg=True)["rouge-l"]["f"]` from the PyPI package `rouge` 1.0.1
/// (pltrdy/rouge, `rouge_l_summary_level` with `exclusive=True`), 0 where it raises.
///
/// That package's definition, reproduced here step by step:
/// - text → sentences: `text.split(".")`, empty pieces dropped, each piece's white space
///   collapsed (`" ".join(piece.split())`; an all-blank piece becomes "");
/// - words: each sentence split on " " (so an empty sentence contributes the word "");
/// - m, n: numbers of *distinct* words of reference and prediction (sets, `exclusive`);
/// - for each reference sentence and each prediction sentence, one LCS is reconstructed by
///   the package's backtracking (diagonal on equal words, else up if the cell above is
///   strictly larger, else left); the union of the *sets* of words in those LCSs is `llcs`;
/// - r = llcs/m, p = llcs/n, F = 2·p·r / (p + r + 1e-8).
/// Known divergence: the package reconstructs recursively, so a sentence pair longer than
/// Python's recursion limit (~1000 words combined) raises and LongBench scores it 0; we
/// score it normally.
enum RougeL {
    typealias Scalars = PythonText.Scalars

    static func score(prediction: String, reference: String) -> Double {
        let hypothesis = sentences(prediction)
        let references = sentences(reference)
        // `rouge_l_summary_level` raises on an empty collection; LongBench turns that into 0.
        guard !hypothesis.isEmpty, !references.isEmpty else { return 0 }
        let m = Set(references.flatMap { $0 }).count
        let n = Set(hypothesis.flatMap { $0 }).count
        var union = Set<Scalars>()
        for referenceWords in references {
            for hypothesisWords in hypothesis {
                union.formUnion(lcsWords(referenceWords, hypothesisWords))
            }
        }
        let llcs = Double(union.count)
        let recall = llcs / Double(m)
        let precision = llcs / Double(n)
        return 2.0 * ((precision * recall) / (precision + recall + 1e-8))
    }

    /// Sentences as lists of words, as `Rouge._get_avg_scores` and `_split_into_words` make them.
    static func sentences(_ text: String) -> [[Scalars]] {
        PythonText.split(PythonText.scalars(text), on: ".").compactMap { piece in
            guard !piece.isEmpty else { return nil }
            let collapsed = PythonText.splitWhitespace(piece)
            return collapsed.isEmpty ? [[]] : collapsed
        }
    }

    /// The words of the LCS that `_recon_lcs(x, y)` reconstructs.
    static func lcsWords(_ x: [Scalars], _ y: [Scalars]) -> [Scalars] {
        let rows = x.count + 1, columns = y.count + 1
        var table = [Int32](repeating: 0, count: rows * columns)
        for i in 1..<rows {
            for j in 1..<columns {
                table[i * columns + j] = x[i - 1] == y[j - 1]
                    ? table[(i - 1) * columns + j - 1] + 1
                    : max(table[(i - 1) * columns + j], table[i * columns + j - 1])
            }
        }
        var words: [Scalars] = []
        var i = x.count, j = y.count
        while i > 0 && j > 0 {
            if x[i - 1] == y[j - 1] {
                words.append(x[i - 1])
                i -= 1
                j -= 1
            } else if table[(i - 1) * columns + j] > table[i * columns + j - 1] {
                i -= 1
            } else {
                j -= 1
            }
        }
        return words
    }
}
