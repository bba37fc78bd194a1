// store-bench: decode attention of one GQA group over each K/V store at 4K context, per KV head
// per step (the default model's head shape: d = 64, 3 query heads per KV head), against the
// dense f32 store read in place. Prints ms per step, the ratio to dense, the store's K/V bytes
// (everything a step reads) and how many times fewer bytes than dense it moves.
// Keys are Gaussian with a few large channels (the outlier channels KIVI quantizes per channel
// for); values Gaussian. One thread, medians. Then, when the default model is installed, the
// same stores inside the model: ms per decode step at a 4K prompt (random tokens, 2 threads),
// from the difference between 33 and 1 generated tokens, so the store's one-off prefill work
// (quantizing the prompt) is reported apart. Run: swift run -c release store-bench [n [spec …]]
import Foundation
import COpenBLAS
import A2ATSHarness
import A2ATSModel
import A2ATSMethods
import A2ATSTensor

BLASKernelFamily.restartWithTunedKernelsIfNeeded()

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

// Inside the model: decode ms per step of each store at a 4K prompt, against full attention.
let modelPath = LanguageModel.defaultModelPath
if FileManager.default.fileExists(atPath: modelPath) {
    openblas_set_num_threads(2)
    let model = try LanguageModel.load(path: modelPath).model
    var tokenGenerator = SeededGenerator(seed: 4096)
    let prompt = [1] + (1..<4000).map { _ in Int.random(in: 100..<model.config.vocabSize, using: &tokenGenerator) }
    let specs: [(String, Int?)] = [("full", nil), ("kivi", nil), ("kivi:bits=4", nil), ("kivi:bits=8", nil), ("qaq", nil),
                                   ("think", nil), ("snapkv", 500), ("snapkv+kivi:bits=4", 2819)]
    let methods = specs.map { spec, budget in { try MethodRegistry.make(MethodSpec.parse(spec), budgetTokens: budget, model: model.config) } }
    let needs = try methods.map { try $0().prefillNeeds }.reduce(PrefillNeeds.none) { $0.merged(with: $1) }
    let shared = try model.prefill(prompt, extraCapacity: 40, needs: needs)
    print("\nin the model (\(modelPath.split(separator: "/").last!)), 4,000-token prompt, 2 threads, best of 3")
    print("method                     ms/step  × full   prompt set-up s   K/V bytes    fraction of full")
    var fullStep = 0.0, fullBytes = 0
    for ((spec, budget), make) in zip(specs, methods) {
        var long = Double.infinity, short = Double.infinity, bytes = 0
        for _ in 0..<3 {
            let a = try model.generate(from: shared, method: make(), maxNewTokens: 33, stopTokens: [])
            let b = try model.generate(from: shared, method: make(), maxNewTokens: 1, stopTokens: [])
            long = min(long, a.seconds)
            short = min(short, b.seconds)
            bytes = a.memory.kvBytes
        }
        let step = (long - short) / 32 * 1000
        if fullStep == 0 { (fullStep, fullBytes) = (step, bytes) }
        let label = spec + (budget.map { " (B=\($0))" } ?? "")
        print(label.padding(toLength: 26, withPad: " ", startingAt: 0)
              + String(format: " %7.2f %6.2fx %12.3f %14d %12.3f", step, step / fullStep, short, bytes, Double(bytes) / Double(fullBytes)))
    }
}
