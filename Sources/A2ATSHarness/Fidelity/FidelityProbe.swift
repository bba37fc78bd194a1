import A2ATSMethods
import A2ATSModel
import A2ATSTensor

/// Decodes with full attention while asking every probed method, at each step, layer and query
/// head, which tokens it would read — then measures that choice against the truth (A²ATS
/// §4's analysis): recall of the true top-k, attention mass captured, score MSE of the method's
/// approximate scores (A²ATS only), relative error of the attention output.
///
/// Probes see the full-attention trajectory; they are not told the weights of their own
/// attention, so eviction methods that learn while decoding (H2O, TOVA, CORM) are measured on
/// their prefill-time choice plus the tokens decoded since.
final class FidelityProbe: CacheMethod {
    struct Probe {
        let label: String
        let method: CacheMethod
        /// Per query head: the true top-k size recall is measured against.
        let k: Int
    }

    /// Running sums of one probe at one (layer, query head).
    struct Sums {
        var steps = 0
        var recall = 0.0, mass = 0.0, outputError = 0.0, scoreMSE = 0.0, scoreMSESteps = 0

        mutating func add(_ metrics: FidelityMetrics) {
            steps += 1
            recall += metrics.recall
            mass += metrics.attentionMass
            outputError += metrics.outputRelativeError
            if let mse = metrics.scoreMSE { scoreMSE += mse; scoreMSESteps += 1 }
        }
    }

    let kind = CacheMethodKind.dense
    let probes: [Probe]
    private let config: ModelConfig
    /// `[probe][layer][queryHead]`
    private(set) var sums: [[[Sums]]]

    init(probes: [Probe], config: ModelConfig) {
        self.probes = probes
        self.config = config
        sums = Array(repeating: Array(repeating: Array(repeating: Sums(), count: config.headCount), count: config.layerCount),
                     count: probes.count)
    }

    var prefillNeeds: PrefillNeeds { probes.reduce(.none) { $0.merged(with: $1.method.prefillNeeds) } }

    func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        for probe in probes { try probe.method.didPrefill(layer: layer, cache: cache, statistics: statistics) }
    }

    func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        let d = config.headDim, n = cache.length
        let scale = 1 / Float(d).squareRoot()
        var trueScores = Array(repeating: [Float](repeating: 0, count: n), count: config.headCount)
        for head in 0..<config.headCount {
            let keys = cache.keys(layer: query.layer, kvHead: head / config.groupSize)
            trueScores[head].withUnsafeMutableBufferPointer {
                BLAS.matrixVector(rows: n, cols: d, alpha: scale, a: keys, lda: d, x: query.queries + head * d, y: $0.baseAddress!)
            }
        }
        var approximate = [Float](repeating: 0, count: n)
        for (index, probe) in probes.enumerated() {
            let selection = probe.method.select(query, cache: cache)
            for head in 0..<config.headCount {
                let kvHead = head / config.groupSize
                let selected = selection.perKVHead[kvHead] ?? (0..<Int32(n)).map { $0 }
                var approximateScores: [Float]?
                if let a2ats = probe.method as? A2ATSMethod {
                    approximate.withUnsafeMutableBufferPointer {
                        a2ats.approximateScores(query, cache: cache, queryHead: head, into: $0.baseAddress!)
                    }
                    approximateScores = approximate
                }
                let metrics = Fidelity.measure(trueScores: trueScores[head], approximateScores: approximateScores,
                                               selected: selected, values: cache.values(layer: query.layer, kvHead: kvHead),
                                               headDim: d, k: min(probe.k, n))
                sums[index][query.layer][head].add(metrics)
            }
        }
        return .all(kvHeads: config.kvHeadCount)
    }

}
