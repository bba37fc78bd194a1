// engine-bench: prefill and decode speed of the engine on the default model, against ceilings
// measured in the same run (sgemm at a model shape, streaming read bandwidth), and the cost of a
// method × budget sweep forked from one shared prefill (issue 6).
// Run: swift run -c release engine-bench [--model PATH|NAME] [--repeats N] [--quick]
//        [--lengths 4096,16384,32768 [--method a2ats:centroids=1024 --fraction 0.03]]
//        [--tokens FILE] [--json FILE]
// (--sweep: the load checks and the sweep only. --quick: 1K only, one repeat, compact decode only, no sweep. --lengths: long-context mode:
// prefill at each length once, decode with compact weights under full attention and under
// --method at --fraction of the prompt (codebooks from the model's cache, calibrated if
// missing), no sweep; the peak resident memory of the process is printed at the end.)
// Prompts are random token ids (seeded): speed does not depend on the text. Figures are the
// best of N repeats (the machine is shared; the minimum is the least disturbed run), with the
// median beside it. Compare ratios within one run.
// --tokens FILE: a JSON list of prompts (each a list of token ids, or one list) used instead of the
// random ones, their lengths replacing the default lengths: Benchmarks/peers runs llama.cpp and
// transformers on the same ids. --json FILE: every printed figure line, and the prefill and decode
// figures by name, written as JSON when the run ends.
import Foundation
import A2ATSHarness
import A2ATSMethods
import A2ATSSupport
import A2ATSModel
import A2ATSTensor

BLASKernelFamily.restartWithTunedKernelsIfNeeded()

setlinebuf(stdout)
let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}
let quick = arguments.contains("--quick")
let repeats = Int(option("--repeats") ?? "") ?? (quick ? 1 : 3)
let modelPath = option("--model") ?? LanguageModel.defaultModelPath
let longLengths = option("--lengths").map { $0.split(separator: ",").compactMap { Int($0) } }
let longMethodText = option("--method") ?? "a2ats"
let longFraction = Double(option("--fraction") ?? "") ?? 0.03

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
/// CPU seconds of all this process's threads: less sensitive than wall time to other jobs on a
/// shared machine (wall ≈ cpu / cores when the engine has the cores to itself).
func cpuNow() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}
func timed(_ body: () throws -> Void) rethrows -> Double { let start = now(); try body(); return now() - start }
/// (best, median) of `repeats` wall timings, and the CPU seconds of the best run.
func measure(_ count: Int = repeats, _ body: () throws -> Void) rethrows -> (best: Double, median: Double, cpu: Double) {
    var times: [(wall: Double, cpu: Double)] = []
    for _ in 0..<count {
        let cpuStart = cpuNow()
        let wall = try timed(body)
        times.append((wall, cpuNow() - cpuStart))
    }
    let sorted = times.sorted { $0.wall < $1.wall }
    return (sorted[0].wall, sorted[sorted.count / 2].wall, sorted[0].cpu)
}
/// What --json writes: every `line` printed, and named prefill and decode figures.
var figures: JSONObject = ["lines": [], "prefill": [], "decode": []]
func line(_ format: String, _ values: CVarArg...) {
    let text = String(format: format, arguments: values)
    print(text)
    figures["lines"] = .array((figures["lines"]?.arrayValue ?? []) + [.string(text)])
}
func record(_ section: String, _ entry: JSONObject) {
    figures[section] = .array((figures[section]?.arrayValue ?? []) + [.object(entry)])
}
/// Writes the figures to --json's file (at the end, and before the early exits).
func writeFigures() {
    guard let path = option("--json") else { return }
    figures["model"] = .string(modelPath)
    figures["cores"] = .int(ProcessInfo.processInfo.activeProcessorCount)
    figures["blas_threads"] = .int(BLAS.threadCount)
    figures["repeats"] = .int(repeats)
    do { try AtomicFile.write(JSONValue.object(figures).prettyText, to: path) } catch {
        print("engine-bench: cannot write --json \(path): \(error)")
        exit(1)
    }
}
/// The prompts of --tokens, checked against the model's vocabulary and context: a malformed
/// file is reported by name, field and value instead of trapping.
func filePrompts(_ path: String, vocabSize: Int, maxPrompt: Int) -> [[Int]] {
    do {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DataFileError(file: path, problem: "cannot be read as UTF-8 text")
        }
        guard let outer = try JSONValue.parse(text).arrayValue, !outer.isEmpty else {
            throw DataFileError(file: path, problem: "expected a non-empty JSON list of token ids or of prompts")
        }
        let lists = outer.allSatisfy { $0.intValue != nil } ? [outer] : outer.map { $0.arrayValue ?? [] }
        let prompts = try lists.enumerated().map { index, list in
            let ids = list.compactMap(\.intValue)
            let field = "[\(index)]"
            guard !ids.isEmpty, ids.count == list.count else {
                throw DataFileError(file: path, field: field, problem: "expected a non-empty list of integer token ids")
            }
            if let bad = ids.first(where: { $0 < 0 || $0 >= vocabSize }) {
                throw DataFileError(file: path, field: field, problem: "token id \(bad) outside the vocabulary 0..<\(vocabSize)")
            }
            guard ids.count <= maxPrompt else {
                throw DataFileError(file: path, field: field,
                                    problem: "\(ids.count) tokens; at most \(maxPrompt) leave room for decoding in the model's context")
            }
            return ids
        }
        // Figures are keyed by prompt length.
        guard Set(prompts.map(\.count)).count == prompts.count else {
            throw DataFileError(file: path, problem: "two prompts of the same length; lengths name the figures")
        }
        return prompts
    } catch {
        print("engine-bench: --tokens: \(error)")
        exit(2)
    }
}

// MARK: ceilings

let blasThreads = BLAS.threadCount
let cores = ProcessInfo.processInfo.activeProcessorCount
line("engine-bench: %d cores, OpenBLAS threads %d, kernels %@, repeats %d (best / median)", cores, blasThreads,
     BLASKernelFamily.current, repeats)

/// A matrix product at the prefill's largest shape (n × 2·ffn × hidden, the fused gate/up
/// projection), by OpenBLAS's sgemm or by our AVX-512 kernel (`own`).
func sgemmCeiling(m: Int, n: Int, k: Int, own: Bool) -> Double {
    let saved = BLAS.ownProduct
    BLAS.ownProduct = own
    defer { BLAS.ownProduct = saved }
    let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: n * k)
    var c = [Float](repeating: 0, count: m * n)
    let time = measure(3) {
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
            BLAS.multiplyTransposedB(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: k,
                                     c: c.baseAddress!, ldc: n)
        } } }
    }.best
    return 2 * Double(m * n * k) / time / 1e9
}

/// Streaming read of 512 MiB with every core (each sums its slice), in GB/s.
func readBandwidth() -> Double {
    let count = 128 << 20
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
    defer { buffer.deallocate() }
    buffer.initialize(repeating: 1, count: count)
    let slice = count / cores
    var sink: Float = 0
    let time = measure(3) {
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: cores)
        defer { sums.deallocate() }
        let base = Int(bitPattern: buffer), out = Int(bitPattern: sums)
        DispatchQueue.concurrentPerform(iterations: cores) { worker in
            let start = UnsafePointer<Float>(bitPattern: base)! + worker * slice
            UnsafeMutablePointer<Float>(bitPattern: out)![worker] = vectorSum(start, slice)
        }
        for w in 0..<cores { sink += sums[w] }
    }.best
    if sink == -1 { print(sink) }
    return Double(count * 4) / time / 1e9
}

let loaded = try LanguageModel.load(path: modelPath)
let model = loaded.model
let c = model.config
// The ceiling is the faster of OpenBLAS's sgemm (with the kernels it loaded) and our AVX-512
// product where the CPU has one: the best this host offers, whichever the prefill runs.
let openBLASProduct = sgemmCeiling(m: 1024, n: 2 * c.intermediateSize, k: c.hiddenSize, own: false)
let ownProduct = CPUFeatures.hasAVX512 ? sgemmCeiling(m: 1024, n: 2 * c.intermediateSize, k: c.hiddenSize, own: true) : 0
let sgemm = max(openBLASProduct, ownProduct)
let bandwidth = readBandwidth()
line("ceilings: sgemm %d×%d×%d %.1f GFLOP/s (OpenBLAS %@ %.1f, a2ats AVX-512 %@); streaming read %.1f GB/s",
     1024, 2 * c.intermediateSize, c.hiddenSize, sgemm, BLASKernelFamily.current, openBLASProduct,
     CPUFeatures.hasAVX512 ? String(format: "%.1f", ownProduct) : "—", bandwidth)
line("prefill products: %@; quantized weights read from %@", BLAS.productName,
     model.prefillWeights == .f32 ? "f32 copies" : "the mapped file, dequantized per panel")

// MARK: correctness checks

/// Compact kernels against f32 `sgemv` over the same dequantized values: only rounding may differ.
let source = try GGUFModelSource(path: loaded.weightsFile)
for name in ["blk.0.attn_q.weight", "blk.0.ffn_down.weight", "token_embd.weight"] {
    guard let compact = source.compactMatrix(name) else { continue }
    let dense = try source.tensor(name)
    var generator = SeededGenerator(seed: 7)
    let x = (0..<compact.cols).map { _ in generator.nextGaussian() }
    var fast = [Float](repeating: 1, count: compact.rows), exact = fast
    x.withUnsafeBufferPointer { x in
        fast.withUnsafeMutableBufferPointer { compact.multiply(x.baseAddress!, into: $0.baseAddress!, accumulate: true) }
        dense.withUnsafeBufferPointer { a in exact.withUnsafeMutableBufferPointer {
            BLAS.matrixVector(rows: compact.rows, cols: compact.cols, a: a.baseAddress!, lda: compact.cols,
                              x: x.baseAddress!, beta: 1, y: $0.baseAddress!)
        } }
    }
    let scale = exact.map(abs).max()!
    let error = zip(fast, exact).map { abs($0 - $1) }.max()!
    line("check: %@ %@ %d×%d, max |Δ| / max |y| = %.2e", name, compact.format.rawValue, compact.rows, compact.cols,
         error / scale)
}
/// The layers' compact products alone, 2 workers as in decode: streamed from memory (every
/// layer once, as a step reads them) and from cache (layer 0's again and again). Equal rates
/// mean the kernels are compute-bound; a streamed rate far below the in-cache one, memory-bound.
func kernelRates() -> (streamed: Double, cached: Double, bytes: Int) {
    let layers = (0..<c.layerCount).map { layer in
        ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]
            .compactMap { source.compactMatrix("blk.\(layer).\($0).weight") }
    }
    let width = max(c.hiddenSize, c.intermediateSize, c.headCount * c.headDim)
    let x = [Float](repeating: 0.01, count: width)
    var y = [Float](repeating: 0, count: layers[0].map(\.rows).max()!)
    func run(_ order: [Int]) -> Double {
        measure(5) {
            x.withUnsafeBufferPointer { x in y.withUnsafeMutableBufferPointer { y in
                for layer in order { for m in layers[layer] { m.multiply(x.baseAddress!, into: y.baseAddress!) } }
            } }
        }.best
    }
    let bytes = layers.joined().reduce(0) { $0 + $1.bytesRead }
    let layer0 = layers[0].reduce(0) { $0 + $1.bytesRead } * c.layerCount
    return (Double(bytes) / run(Array(0..<c.layerCount)) / 1e9, Double(layer0) / run(Array(repeating: 0, count: c.layerCount)) / 1e9,
            bytes)
}
let rates = kernelRates()
line("decode kernels: layers' compact products %.0f MB: streamed %.1f GB/s, from cache %.1f GB/s", Double(rates.bytes) / 1e6,
     rates.streamed, rates.cached)

/// Greedy decoding of a text prompt with compact and f32 decode weights must agree.
let text = String(repeating: "The quick brown fox jumps over the lazy dog near the river bank. ", count: 20)
    + "Tell me a short story about a fox."
let textPrefill = try model.prefill(loaded.tokenizer.encodeForModel(text), extraCapacity: 32)
var greedy: [LlamaModel.DecodeWeights: [Int]] = [:]
for weights in model.hasF32Weights ? [LlamaModel.DecodeWeights.compact, .f32] : [.compact] {
    model.decodeWeights = weights
    greedy[weights] = try model.generate(from: textPrefill, method: nil, maxNewTokens: 24, stopTokens: []).tokens
}
model.decodeWeights = .compact
print("check: greedy 24 tokens, compact == f32 decode: \(greedy[.f32].map { "\($0 == greedy[.compact]!)" } ?? "n/a (no f32 copies)") " +
      (greedy[.compact]!.map(String.init).joined(separator: " ")))

// MARK: prefill

/// Weight FLOPs per prompt token: every projection once (the LM head runs at the last row only).
let weightFlopsPerToken = 2.0 * Double(c.layerCount) * Double(c.hiddenSize)
    * Double((2 * c.headCount + 2 * c.kvHeadCount) * c.headDim + 3 * c.intermediateSize)
var rng = SeededGenerator(seed: 2024)
func randomTokens(_ n: Int) -> [Int] { (0..<n).map { _ in Int(rng.next() % UInt64(c.vocabSize)) } }
if arguments.contains("--sweep") { try sweepSection(); writeFigures(); exit(0) }

let promptsFromFile = option("--tokens").map { filePrompts($0, vocabSize: c.vocabSize, maxPrompt: c.maxPositions - 64) }
let lengths = promptsFromFile?.map(\.count) ?? longLengths ?? (quick ? [1024] : [1024, 4096])
/// Long-context mode: the cache method decoded beside full attention, built per length (its
/// budget is a fraction of n); its codebooks come from the model's cache, calibrated if missing.
let longSpec = try MethodSpec.parse(longMethodText)
let codebooks = longLengths == nil ? nil
    : CodebookStore(model: loaded, modelSHA256: try SHA256.hexDigest(ofFile: loaded.weightsFile)) { print($0) }
func longMethod(length n: Int) throws -> (method: CacheMethod, budget: Int) {
    let budget = max(1, Int((longFraction * Double(n)).rounded()))
    return (try MethodRegistry.make(longSpec, budgetTokens: budget, model: c, resources: codebooks), budget)
}
var prefills: [Int: PrefillResult] = [:]
for n in lengths {
    // A length at the model's context leaves room for the decoded tokens (32768 → 32704 prompt tokens).
    let tokens = promptsFromFile?.first { $0.count == n } ?? randomTokens(min(n, c.maxPositions - 64))
    // In long-context mode the prefill also records what the method needs (one prefill at 32K
    // costs minutes): full attention decodes from the same cache.
    let needs = longLengths == nil ? PrefillNeeds.none : try longMethod(length: n).method.prefillNeeds
    var result: PrefillResult?
    let time = try measure(n > 8192 ? 1 : n > 2048 ? max(1, repeats - 1) : repeats) {
        result = try model.prefill(tokens, extraCapacity: 64, needs: needs)
    }
    prefills[n] = result
    // Attention: q·K and p·V, 2·ctx·d FLOPs each per head, mean causal context p/2.
    let p = Double(tokens.count)
    let attentionFlops = 4.0 * p / 2 * Double(c.headDim * c.headCount * c.layerCount)
    let gflops = p * (weightFlopsPerToken + attentionFlops) / time.best / 1e9
    line("prefill %5d tokens: %7.1f tok/s (median %7.1f, cpu %6.1f tok/cpu-s)  %6.1f GFLOP/s = %4.0f%% of sgemm ceiling",
         tokens.count, p / time.best, p / time.median, p / time.cpu, gflops, 100 * gflops / sgemm)
    record("prefill", ["tokens": .int(tokens.count), "tok_s_best": .double(p / time.best),
                       "tok_s_median": .double(p / time.median), "sgemm_percent": .double(100 * gflops / sgemm)])
}
if let first = prefills[1024] {
    let top = first.lastLogits.enumerated().sorted { $0.element > $1.element }.prefix(3)
    print("check: prefill 1024 top-3 logits " + top.map { String(format: "%d:%.5f", $0.offset, $0.element) }.joined(separator: " "))
}

// MARK: decode

for weights in quick || longLengths != nil || !model.hasF32Weights ? [LlamaModel.DecodeWeights.compact] : [.compact, .f32] {
    model.decodeWeights = weights
    for n in lengths {
        guard let prefill = prefills[n] else { continue }
        var generation: Generation?
        let time = try measure {
            generation = try model.generate(from: prefill, method: nil, maxNewTokens: 33, stopTokens: [])
        }
        let steps = Double(generation!.decodeSteps)
        // Weights, plus K and V of every cached token (mean context n + 16) at every layer.
        let kvBytes = Double(2 * (n + 16) * c.headDim * c.kvHeadCount * c.layerCount * 4)
        let bytes = Double(model.decodeWeightBytesPerStep) + kvBytes
        let perStep = time.best / steps
        record("decode", ["context": .int(n), "weights": .string(weights.rawValue), "steps": .int(Int(steps)),
                          "ms_best": .double(1e3 * perStep), "ms_median": .double(1e3 * time.median / steps)])
        line("decode @%4d (%@ weights, %3.0f MB/step): %6.2f ms/token (median %6.2f, cpu %6.2f)  %5.1f GB/s = %4.0f%% of read bandwidth",
             n, weights.rawValue, bytes / 1e6, 1e3 * perStep, 1e3 * time.median / steps, 1e3 * time.cpu / steps, bytes / perStep / 1e9,
             100 * bytes / perStep / 1e9 / bandwidth)
        // Where the (last run's) steps went; weights at their bytes, K/V at theirs, for the bounds.
        let parts = generation!.breakdown
        func ms(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e6 / steps }
        let weightMB = Double(model.decodeWeightBytesPerStep - model.decodeHeadBytesPerStep) / 1e6
        let headMB = Double(model.decodeHeadBytesPerStep) / 1e6
        line("  per step: weights %.2f ms (%.0f MB, %.1f GB/s), attention %.2f ms (%.0f MB K/V, %.1f GB/s), logits %.2f ms (%.0f MB, %.1f GB/s), other %.2f ms",
             ms(parts.weightNanoseconds), weightMB, weightMB / ms(parts.weightNanoseconds),
             ms(parts.attentionNanoseconds), kvBytes / 1e6, kvBytes / 1e6 / ms(parts.attentionNanoseconds),
             ms(parts.logitsNanoseconds), headMB, headMB / ms(parts.logitsNanoseconds), ms(parts.otherNanoseconds))
        if n == 1024 && weights == .compact {
            print("check: decode @1024 tokens " + generation!.tokens.prefix(12).map(String.init).joined(separator: " "))
        }
    }
}
model.decodeWeights = .compact

// K/V in f16, as llama.cpp stores them by default (the `fp16` store; its one-off conversion of the
// prompt's rows apart): the bytes attention reads halve, the arithmetic stays f32.
if longLengths == nil {
    let fp16 = try MethodRegistry.make(MethodSpec.parse("fp16"), budgetTokens: nil, model: c, resources: nil)
    for n in lengths {
        guard let prefill = prefills[n] else { continue }
        var generation: Generation?
        let time = try measure { generation = try model.generate(from: prefill, method: fp16, maxNewTokens: 33, stopTokens: []) }
        let run = generation!, steps = Double(run.decodeSteps), perStep = (time.best - run.forkSeconds) / steps
        let kvBytes = Double(2 * (n + 16) * c.headDim * c.kvHeadCount * c.layerCount * 2)
        record("decode_fp16", ["context": .int(n), "steps": .int(run.decodeSteps), "ms_best": .double(1e3 * perStep),
                               "ms_median": .double(1e3 * (time.median - run.forkSeconds) / steps)])
        line("decode @%4d, K/V in f16 (fp16 store, %3.0f MB K/V): %6.2f ms/token (median %6.2f; one-off conversion %.3f s), attention %.2f ms/step",
             n, kvBytes / 1e6, 1e3 * perStep, 1e3 * (time.median - run.forkSeconds) / steps, run.forkSeconds,
             Double(run.breakdown.attentionNanoseconds) / 1e6 / steps)
        if n == 1024 { print("check: decode @1024 fp16 tokens " + run.tokens.prefix(12).map(String.init).joined(separator: " ")) }
    }
}

/// Peak resident memory of this process so far (Linux reports ru_maxrss in KiB).
func peakResidentGiB() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) * 1024 / Double(1 << 30)
}

// MARK: a cache method's decode beside full attention (long-context mode)

if longLengths != nil {
    for n in lengths {
        guard let prefill = prefills[n] else { continue }
        let (method, budget) = try longMethod(length: n)
        var steps = 0.0
        var fullRun: Generation?, methodRun: Generation?
        let full = try measure(1) { fullRun = try model.generate(from: prefill, method: nil, maxNewTokens: 33, stopTokens: []) }.best
        let sparse = try measure(1) {
            methodRun = try model.generate(from: prefill, method: method, maxNewTokens: 33, stopTokens: [])
            steps = Double(methodRun!.decodeSteps)
        }.best
        line("decode @%5d: full %7.2f ms/token, %@ at B = %d (%.0f%%) %7.2f ms/token = %.2f× faster",
             n, 1e3 * full / steps, longMethodText, budget, 100 * longFraction, 1e3 * sparse / steps, full / sparse)
        // The method's one-off encoding of the prompt is prefill-side work in serving: the steps alone.
        let fullSteps = full - fullRun!.forkSeconds, methodSteps = sparse - methodRun!.forkSeconds
        line("  steps alone (one-off fork work apart: %.2f s): full %7.2f ms/token, %@ %7.2f ms/token = %.2f× faster",
             methodRun!.forkSeconds, 1e3 * fullSteps / steps, longMethodText, 1e3 * methodSteps / steps, fullSteps / methodSteps)
        // Attention per step with and without the method, the method's selection apart, and the
        // tokens it read: the end-to-end gap to the kernel's n/attended.
        for (name, run) in [("full", fullRun!), (longMethodText, methodRun!)] {
            line("  %@: attention %.2f ms/step (selection %.2f), attended %.0f of %d tokens per KV head",
                 name, Double(run.breakdown.attentionNanoseconds) / 1e6 / steps, 1e3 * run.selectionSeconds / steps,
                 run.attendedTokens, prefill.tokens.count)
        }
    }
}
line("peak resident memory: %.2f GiB", peakResidentGiB())

// MARK: prefill sharing (issue 6)

if quick || longLengths != nil { writeFigures(); exit(0) }
try sweepSection()
writeFigures()
