import A2ATSSupport
import Foundation

/// Errors of the scoring module: a name nobody defined, or a file that cannot be scored.
public enum ScoringError: Error, CustomStringConvertible, Equatable {
    /// An unknown metric or dataset name, with the valid names and the closest one.
    case unknownName(kind: String, name: String, valid: [String], suggestion: String?)

    public var description: String {
        switch self {
        case let .unknownName(kind, name, valid, suggestion):
            let hint = suggestion.map { " (did you mean \"\($0)\"?)" } ?? ""
            return "unknown \(kind) \"\(name)\"\(hint); valid: \(valid.joined(separator: ", "))"
        }
    }
}

/// The per-sample metrics of LongBench v1 (THUDM/LongBench metrics.py) and RULER
/// (NVIDIA/RULER scripts/eval/synthetic/constants.py), reproduced from their definitions so
/// that our scores equal the official scorers' (see each implementation for the details and
/// the few documented divergences). Scores are in 0…1 per (prediction, reference).
public enum Metric: String, CaseIterable, Sendable {
    case qaF1 = "qa_f1"
    case qaF1Chinese = "qa_f1_zh"
    case rouge = "rouge"
    case rougeChinese = "rouge_zh"
    case classification = "classification"
    case retrieval = "retrieval"
    case retrievalChinese = "retrieval_zh"
    case count = "count"
    case codeSimilarity = "code_sim"
    case stringMatchAll = "string_match_all"
    case stringMatchPart = "string_match_part"

    /// The metric's name as the benchmarks and `--metric` spell it.
    public var name: String { rawValue }

    /// Looks a metric up by name; also accepts LongBench's function names (`qa_f1_score`).
    public static func named(_ name: String) throws -> Metric {
        let trimmed = name.hasSuffix("_score") ? String(name.dropLast("_score".count)) : name
        if let metric = Metric(rawValue: trimmed) { return metric }
        let valid = allCases.map(\.rawValue)
        throw ScoringError.unknownName(kind: "metric", name: name, valid: valid,
                                       suggestion: closestMatches(to: name, among: valid, ignoringCase: true).first)
    }

    /// Where our metric is not bit-for-bit the official one, why (nil where it is).
    public var approximation: String? {
        switch self {
        case .qaF1Chinese, .rougeChinese:
            return "jieba is not available: Chinese text is split into single CJK characters "
                + "(ASCII words and numbers kept whole) instead of jieba words"
        default:
            return nil
        }
    }

    /// True for RULER's metrics, which score a sample against all its references at once;
    /// LongBench's metrics score each reference separately and keep the maximum.
    public var scoresAllReferencesTogether: Bool {
        self == .stringMatchAll || self == .stringMatchPart
    }

    /// One sample's score in 0…1. LongBench metrics: the maximum over `references` (0 if
    /// none). RULER metrics: computed over all references together. `allClasses` is only
    /// read by `classification`. The first-line rule is the dataset's, see `DatasetScorer`.
    public func score(prediction: String, references: [String], allClasses: [String] = []) -> Double {
        switch self {
        case .stringMatchAll: return MatchMetrics.stringMatchAll(prediction: prediction, references: references)
        case .stringMatchPart: return MatchMetrics.stringMatchPart(prediction: prediction, references: references)
        default:
            var best = 0.0
            for reference in references {
                best = max(best, score(prediction: prediction, reference: reference, allClasses: allClasses))
            }
            return best
        }
    }

    /// One (prediction, reference) pair, for LongBench's metrics.
    func score(prediction: String, reference: String, allClasses: [String]) -> Double {
        switch self {
        case .qaF1: return TokenF1.english(prediction: prediction, reference: reference)
        case .qaF1Chinese: return TokenF1.chinese(prediction: prediction, reference: reference)
        case .rouge: return RougeL.score(prediction: prediction, reference: reference)
        case .rougeChinese:
            return RougeL.score(prediction: ChineseWords.spaced(prediction), reference: ChineseWords.spaced(reference))
        case .classification:
            return MatchMetrics.classification(prediction: prediction, reference: reference, allClasses: allClasses)
        case .retrieval: return MatchMetrics.retrieval(prediction: prediction, reference: reference, marker: "Paragraph ")
        case .retrievalChinese: return MatchMetrics.retrieval(prediction: prediction, reference: reference, marker: "段落")
        case .count: return MatchMetrics.count(prediction: prediction, reference: reference)
        case .codeSimilarity: return CodeSimilarity.score(prediction: prediction, reference: reference)
        case .stringMatchAll: return MatchMetrics.stringMatchAll(prediction: prediction, references: [reference])
        case .stringMatchPart: return MatchMetrics.stringMatchPart(prediction: prediction, references: [reference])
        }
    }
}
