import Foundation

/// How well one selection stands in for full attention, for one step, layer and query head
/// (the paper's own analysis, arXiv 2502.12665 §4): recall of the true top-k, attention mass
/// captured, score MSE of the approximation, and relative error of the attention output.
public struct FidelityMetrics: Equatable, Sendable {
    /// |selected ∩ true top-k| / k.
    public var recall: Double
    /// Σ over selected tokens of softmax(true scores) over all tokens.
    public var attentionMass: Double
    /// Mean of (approximate − true)² over the tokens given, nil without approximate scores.
    public var scoreMSE: Double?
    /// ‖o_selected − o_full‖ / ‖o_full‖, o_selected = softmax restricted to the selection.
    public var outputRelativeError: Double
}

public enum Fidelity {
    /// `trueScores`: q·k/√d of all n tokens (exact RoPE); `approximateScores` on the same scale (or
    /// nil); `selected`: distinct cache indices read; `values`: n × headDim; `k`: the true top-k size
    /// (ties → lower index, as the oracle breaks them).
    public static func measure(trueScores: [Float], approximateScores: [Float]? = nil, selected: [Int32],
                               values: UnsafePointer<Float>, headDim: Int, k: Int) -> FidelityMetrics {
        let n = trueScores.count
        let maxScore = trueScores.max() ?? 0
        let weights = trueScores.map { exp(Double($0 - maxScore)) }
        let total = weights.reduce(0, +)
        let chosen = Set(selected.map(Int.init))
        let mass = chosen.reduce(0.0) { $0 + weights[$1] } / total

        let order = (0 ..< n).sorted { trueScores[$0] != trueScores[$1] ? trueScores[$0] > trueScores[$1] : $0 < $1 }
        let topK = order.prefix(max(0, min(k, n)))
        let recall = topK.isEmpty ? 1 : Double(topK.filter(chosen.contains).count) / Double(topK.count)

        var full = [Double](repeating: 0, count: headDim), sparse = full
        let selectedTotal = chosen.reduce(0.0) { $0 + weights[$1] }
        for j in 0 ..< n {
            let isChosen = chosen.contains(j)
            for t in 0 ..< headDim {
                let v = Double(values[j * headDim + t])
                full[t] += weights[j] / total * v
                if isChosen { sparse[t] += weights[j] / selectedTotal * v }
            }
        }
        let diff = zip(full, sparse).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        let norm = full.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        let outputError = chosen.isEmpty ? 1 : (norm > 0 ? diff / norm : diff)

        let mse = approximateScores.map { approx -> Double in
            precondition(approx.count == n)
            return zip(approx, trueScores).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } / Double(max(n, 1))
        }
        return FidelityMetrics(recall: recall, attentionMass: mass, scoreMSE: mse, outputRelativeError: outputError)
    }
}
