// store-bench: decode attention of one GQA group over each K/V store at 4K context, per KV head
// per step (the default model's head shape: d = 64, 3 query heads per KV head), against the
// dense f32 store read in place. Prints ms per step, the ratio to dense, the store's K/V bytes
// (everything a step reads) and how many times fewer bytes than dense it moves.
// Keys are Gaussian with a few large channels (the outlier channels KIVI quantizes per channel
// for); values Gaussian. One thread, medians. Run: swift run -c release store-bench [n]
import Foundation
import COpenBLAS
import A2ATSModel
import A2ATSMethods
import A2ATSTensor

openblas_set_num_threads(1)
let headDim = 64, group = 3
let n = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 4096
/// Optional specs to measure instead of every method's reference store (dense is always first).
let only = Array(CommandLine.arguments.dropFirst(2))
let config = ModelConfig(layerCount: 1, hiddenSize: group * headDim, intermediateSize: 1, headCount: group, kvHeadCount: 1,
                         headDim: headDim, vocabSize: 1, contextLength: 65536, ropeTheta: 100_000,
                         rmsNormEpsilon: 1e-5, tiedEmbeddings: false)
var generator = SeededGenerator(seed: 2402_02750)
func gaussians(_ count: Int) -> [Float] { (0 ..< count).map { _ in generator.nextGaussian() } }
func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

let outlierChannels: Set = [3, 17, 40]
let keys = (0 ..< n * headDim).map { i in generator.nextGaussian() * (outlierChannels.contains(i % headDim) ? 8 : 1) }
let values = gaussians(n * headDim)
let cache = KVCache.filled(layerCount: 1, kvHeadCount: 1, headDim: headDim, capacity: n + 1, tokens: n) { _, _, k, pre, v in
    k.update(from: keys, count: n * headDim)
    pre.update(from: keys, count: n * headDim)
    v.update(from: values, count: n * headDim)
}
// Statistics a real prefill would hand QAQ and ThinK: the last queries and their causal softmax rows.
let window = 32
let statistics = PrefillStatistics(layerCount: 1, headCount: group, promptLength: n,
                                   needs: PrefillNeeds(observationWindow: window, observedQueries: window), headDim: headDim)
let observedQueries = gaussians(window * group * headDim)
statistics.withObservedQueries(layer: 0) { $0.update(from: observedQueries, count: observedQueries.count) }
statistics.withObservation(layer: 0) { rows in
    for h in 0 ..< group {
        for r in 0 ..< window {
            let query = Array(observedQueries[((r * group + h) * headDim)..<((r * group + h + 1) * headDim)])
            var logits = (0 ..< n).map { j in j <= n - window + r ? zip(query, keys[(j * headDim)..<((j + 1) * headDim)]).map(*).reduce(0, +) / 8 : -Float.infinity }
            logits.withUnsafeMutableBufferPointer { _ = softmaxInPlace($0.baseAddress!, n) }
            (rows + (h * window + r) * n).update(from: logits, count: n)
        }
    }
}

/// Each method's store at its reference settings, built as a run builds it.
let stores: [(String, KVStore)] = [("dense (f32, in place)", DenseKVStore())]
    + (try (only.isEmpty ? ["kivi", "kivi:bits=4", "kivi:bits=8", "qaq", "think"] : only).map { spec in
        (spec, try MethodRegistry.make(MethodSpec.parse(spec), budgetTokens: nil, model: config).kvStore!)
    })
let weights = UnsafeMutablePointer<Float>.allocate(capacity: group * (n + 1))
let output = UnsafeMutablePointer<Float>.allocate(capacity: group * headDim)
let steps = max(30, 2_000_000 / n)
print("decode attention per KV head per step, n = \(n), d = \(headDim), group = \(group), 1 thread, medians of \(steps)")
print("store                     ms/step   × dense   K/V bytes   fewer bytes than dense")
var denseTime = 0.0, denseBytes = 0
for (name, store) in stores {
    try store.didPrefill(layer: 0, cache: cache, statistics: statistics, resident: [nil])
    var times: [Double] = []
    for _ in 0 ..< steps {
        let query = gaussians(group * headDim)
        query.withUnsafeBufferPointer { q in
            let start = DispatchTime.now().uptimeNanoseconds
            store.attend(layer: 0, kvHead: 0, queries: q.baseAddress!, groupSize: group, cache: cache, rows: nil, count: n,
                         weights: weights, stride: n + 1, output: output)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
    }
    let time = median(times), bytes = store.kvBytes(cache: cache) { _, _ in nil }
    if denseBytes == 0 { (denseTime, denseBytes) = (time, bytes) }
    print(name.padding(toLength: 24, withPad: " ", startingAt: 0)
          + String(format: " %8.3f %8.2fx %11d %10.2fx", time, time / denseTime, bytes, Double(denseBytes) / Double(bytes)))
}
