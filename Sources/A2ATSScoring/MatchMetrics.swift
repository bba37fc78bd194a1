import Foundation

/// The metrics that look for strings or numbers in the prediction: LongBench's
/// classification, retrieval and count scores (THUDM/LongBench metrics.py) and RULER's
/// string_match_all / string_match_part (NVIDIA/RULER scripts/eval/synthetic/constants.py).
enum MatchMetrics {
    typealias Scalars = PythonText.Scalars

    /// `classification_score`. The classes named (as substrings) in the prediction are
    /// collected in `all_classes` order; then LongBench's loop removes each one that is a
    /// substring of the ground truth without being equal to it — while iterating over the
    /// same Python list, so the element right after a removed one is skipped (reproduced
    /// here). Score: 1/k if the ground truth is among the k left, else 0. (The source's
    /// fallback branch is unreachable: it tests `em_match_list != 0`, a list against 0.)
    static func classification(prediction: String, reference: String, allClasses: [String]) -> Double {
        let predictionScalars = PythonText.scalars(prediction)
        let referenceScalars = PythonText.scalars(reference)
        var matches = allClasses.map(PythonText.scalars).filter { PythonText.contains(predictionScalars, $0) }
        var index = 0
        while index < matches.count {
            let term = matches[index]
            if PythonText.contains(referenceScalars, term) && term != referenceScalars,
               let first = matches.firstIndex(of: term) {
                matches.remove(at: first)
            }
            index += 1
        }
        return matches.contains(referenceScalars) ? 1.0 / Double(matches.count) : 0
    }

    /// `retrieval_score` / `retrieval_zh_score`: the paragraph number after `marker`
    /// ("Paragraph " or "段落") in the ground truth, against every `\d+` in the prediction:
    /// right / found, 0 if the prediction has no number. A ground truth without the marker
    /// makes the official scorer raise `IndexError`; here it scores 0.
    static func retrieval(prediction: String, reference: String, marker: String) -> Double {
        guard let target = PythonText.firstNumber(after: PythonText.scalars(marker), in: PythonText.scalars(reference)) else {
            return 0
        }
        return fractionEqual(numbersIn: prediction, to: target)
    }

    /// `count_score`: the `\d+` numbers of the prediction equal to the ground truth string.
    static func count(prediction: String, reference: String) -> Double {
        fractionEqual(numbersIn: prediction, to: PythonText.scalars(reference))
    }

    private static func fractionEqual(numbersIn prediction: String, to target: Scalars) -> Double {
        let numbers = PythonText.digitRuns(PythonText.scalars(prediction))
        guard !numbers.isEmpty else { return 0 }
        return Double(numbers.filter { $0 == target }.count) / Double(numbers.count)
    }

    /// RULER `string_match_all` for one sample: the fraction of references found in the
    /// prediction, case-insensitively (`r.lower() in pred.lower()`).
    static func stringMatchAll(prediction: String, references: [String]) -> Double {
        guard !references.isEmpty else { return 0 }
        let found = foundFlags(prediction: prediction, references: references).filter { $0 }.count
        return Double(found) / Double(references.count)
    }

    /// RULER `string_match_part` for one sample: 1 if any reference is found, else 0.
    static func stringMatchPart(prediction: String, references: [String]) -> Double {
        foundFlags(prediction: prediction, references: references).contains(true) ? 1 : 0
    }

    private static func foundFlags(prediction: String, references: [String]) -> [Bool] {
        let haystack = PythonText.scalars(PythonText.lower(prediction))
        return references.map { PythonText.contains(haystack, PythonText.scalars(PythonText.lower($0))) }
    }
}
