// a2ats-bench: A²ATS selection + sparse attention vs full attention, per KV head per decode step,
// on synthetic keys with the default model's head shape (d = 64, 3 query heads per KV head) and
// the paper's C = 4096 centroids (methods.md, "Sizing A²ATS"). Run: swift run -c release a2ats-bench
// One thread: an engine runs KV heads in parallel, so the per-head cost is what matters. Full and
// sparse attention run the engine's own kernel (GroupedAttention: K/V rows read once per group,
// in place); "full GB/s" says how close full attention is to the memory ceiling (machine.md:
// 30–32 GB/s streaming, one thread), so the ratio is not flattered by a slow baseline.
// Two settings: warm, one head's K/V read step after step (at 32K its 16 MB may stay in the
// last-level cache), and cold, each step on the next of as many copies of the head as hold
// `coldBytes` of K/V, as in a model where every other layer's heads run between two steps of
// one head, so rows come from memory.
// "n/attended" is the speed-up sparse attention could reach if selection were free: the union
// of 3 independent query heads' top 3% is ≈ 9% of n, which bounds the ratio near 11×. Real
// heads of one group overlap more (the default model reads a 5–6% union at top-k 3%, see
// reports/a2ats-4k), so synthetic independent queries are the pessimistic case.
import Foundation
import COpenBLAS
import A2ATSModel
import A2ATSMethods
import A2ATSTensor

BLASKernelFamily.restartWithTunedKernelsIfNeeded()

let headDim = 64, group = 3, topk = 0.03
let lengths = [4096, 16384, 32768]
/// The paper's C, then the default model's (contract.md): the tables cost C·d per head and step.
let centroidCounts = [4096, 512]
openblas_set_num_threads(1)

/// K/V bytes the cold setting cycles through: well past any last-level cache of the hosts we use.
let coldBytes = 1 << 30

/// `layers` copies of one KV head's shape: a cold run steps through them.
func config(layers: Int) -> ModelConfig {
    ModelConfig(layerCount: layers, hiddenSize: group * headDim, intermediateSize: 1, headCount: group, kvHeadCount: 1,
                headDim: headDim, vocabSize: 1, contextLength: 32768, ropeTheta: 100_000,
                rmsNormEpsilon: 1e-5, tiedEmbeddings: false)
}
var generator = SeededGenerator(seed: 2502_12665)
func gaussians(_ count: Int) -> [Float] { (0 ..< count).map { _ in generator.nextGaussian() } }

/// Exact softmax attention of the group's queries over `count` cached rows (all, or `rows`):
/// the engine's kernel, which reads each K/V row once for the whole group. Full and sparse
/// attention both use it, so the comparison is kernel for kernel.
func attend(queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
            rows: UnsafePointer<Int32>?, count: Int, scores: UnsafeMutablePointer<Float>, stride: Int,
            output: UnsafeMutablePointer<Float>) {
    GroupedAttention.attend(queries: queries, groupSize: group, headDim: headDim, keys: keys, values: values,
                            rows: rows, count: count, weights: scores, stride: stride, output: output, workers: 1)
}

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

/// A method with random codebooks: codebook quality does not change the cost of a step
/// (centroids are sampled Gaussians, L = I).
func method(centroids centroidCount: Int, layers: Int) throws -> A2ATSMethod {
    let book = Codebook(centroids: gaussians(centroidCount * headDim), cholesky: Codebook.identity(headDim),
                        centroidCount: centroidCount, headDim: headDim)
    let codebooks = CodebookSet(modelFingerprint: "synthetic",
                                configuration: CodebookConfiguration(centroids: centroidCount, queryAware: false),
                                headDim: headDim, codebooks: Array(repeating: [book], count: layers), statistics: [])
    var parameters = A2ATSParameters()
    parameters.centroids = centroidCount
    parameters.queryAware = false
    parameters.topk = topk
    return try A2ATSMethod(parameters: parameters, codebooks: codebooks, config: config(layers: layers))
}

/// One row: full attention over n against A²ATS selection + sparse attention with C centroids,
/// step s on copy s mod `layers` of the head (identical rows at other addresses).
func measure(n: Int, centroidCount: Int, layers: Int) throws {
    let keys = gaussians(n * headDim), values = gaussians(n * headDim)
    let cache = KVCache.filled(layerCount: layers, kvHeadCount: 1, headDim: headDim, capacity: n, tokens: n) { _, _, k, preRoPE, v in
        preRoPE.update(from: keys, count: n * headDim)
        k.update(from: keys, count: n * headDim)
        v.update(from: values, count: n * headDim)
    }
    let method = try method(centroids: centroidCount, layers: layers)
    for layer in 0 ..< layers {
        try method.didPrefill(layer: layer, cache: cache,
                              statistics: PrefillStatistics(layerCount: layers, headCount: group, promptLength: n, needs: .none))
    }
    let scores = UnsafeMutablePointer<Float>.allocate(capacity: group * n)
    let output = UnsafeMutablePointer<Float>.allocate(capacity: group * headDim)
    let steps = max(20, 600_000 / n)
    var fullTimes: [Double] = [], selectTimes: [Double] = [], sparseTimes: [Double] = [], attended = 0
    for step in 0 ..< steps {
        let layer = step % layers
        let query = gaussians(group * headDim)
        query.withUnsafeBufferPointer { q in
            var start = DispatchTime.now().uptimeNanoseconds
            attend(queries: q.baseAddress!, keys: cache.keys(layer: layer, kvHead: 0), values: cache.values(layer: layer, kvHead: 0),
                   rows: nil, count: n, scores: scores, stride: n, output: output)
            fullTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)

            start = DispatchTime.now().uptimeNanoseconds
            let selection = method.select(DecodeQuery(layer: layer, position: n - 1, queries: q.baseAddress!,
                                                      preRoPEQueries: q.baseAddress!), cache: cache)
            let middle = DispatchTime.now().uptimeNanoseconds
            let chosen = selection.perKVHead[0]!
            chosen.withUnsafeBufferPointer { rows in
                attend(queries: q.baseAddress!, keys: cache.keys(layer: layer, kvHead: 0), values: cache.values(layer: layer, kvHead: 0),
                       rows: rows.baseAddress!, count: rows.count, scores: scores, stride: n, output: output)
            }
            let end = DispatchTime.now().uptimeNanoseconds
            selectTimes.append(Double(middle - start) / 1e6)
            sparseTimes.append(Double(end - middle) / 1e6)
            attended = chosen.count
        }
    }
    let full = median(fullTimes), select = median(selectTimes), sparse = median(sparseTimes)
    let fullBytes = 2 * n * headDim * 4
    // The centroids the tables are built from, the tables, the code index's offsets and the
    // entries of the selected codes (≤ one per token read), and the selected K/V rows.
    let a2atsBytes = centroidCount * headDim * 4 + group * centroidCount * 4 + (centroidCount + 1) * 4
        + attended * 4 + 2 * attended * headDim * 4
    let row = String(format: "%-8d %8.3f %9.1f %10.3f  (%6.3f + %6.3f)   %7.1fx %9d %10.1fx %8.2f %9.2f",
                     n, full, Double(fullBytes) / full / 1e6, select + sparse, select, sparse, full / (select + sparse),
                     attended, Double(n) / Double(attended), Double(fullBytes) / 1e6, Double(a2atsBytes) / 1e6)
    print(row)
    [scores, output].forEach { $0.deallocate() }
}

print("A²ATS selection + sparse attention vs full attention, per KV head per step")
print("d=\(headDim), group=\(group), topk=\(topk), sinks=8, window=64, 1 thread; medians")
let header = "n        full ms  full GB/s   a2ats ms  (select + sparse)   speed-up  attended  n/attended  full MB  a2ats MB"
for centroidCount in centroidCounts {
    print("\nC = \(centroidCount), warm (one head's K/V, step after step)")
    print(header)
    for n in lengths { try measure(n: n, centroidCount: centroidCount, layers: 1) }
}
// Cold at the default model's C only: the tables' cost is the same warm or cold.
print("\nC = 512, cold (steps cycle over copies of the head holding \(coldBytes >> 20) MiB of K/V)")
print(header)
for n in lengths { try measure(n: n, centroidCount: 512, layers: coldBytes / (2 * n * headDim * 4)) }

// Calibration cost of one codebook at the default model's settings (contract.md, "A²ATS defaults"):
// 65,536 keys, 512 centroids, ≤ 50 Lloyd iterations, early stop 1e-4; the default model has 90.
openblas_set_num_threads(2)
let calibrationKeys = 65_536
let calibrator = Calibrator(options: CalibrationOptions(), modelFingerprint: "synthetic", layerCount: 1,
                            kvHeadCount: 1, headDim: headDim)
let samples = CalibrationSamples(queries: gaussians(3 * calibrationKeys * headDim), keys: gaussians(calibrationKeys * headDim))
let calibrationStart = DispatchTime.now().uptimeNanoseconds
let (_, calibrationStats) = try calibrator.calibrate(samples, seed: 1)
let calibrationSeconds = Double(DispatchTime.now().uptimeNanoseconds - calibrationStart) / 1e9
print(String(format: "calibration of one codebook (%d Gaussian keys, C=512, 2 BLAS threads): %.2f s, %d iterations%@",
             calibrationKeys, calibrationSeconds, calibrationStats.iterations, calibrationStats.converged ? " (converged)" : ""))
