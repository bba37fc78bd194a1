import A2ATSHarness
import A2ATSMethods
import A2ATSModel
import Foundation

/// Issue 6's sweep: 6 methods × 4 budgets forked from one shared prefill, decoded together and
/// one at a time, in prefill-equivalents.
func sweepSection() throws {
    let methodNames = ["full", "streamingllm", "h2o", "snapkv", "tova", "oracle"]
    let budgets = [64, 128, 256, 512]
    let sweepTokens = randomTokens(2048)
    let onePrefill = try measure(3) { _ = try model.prefill(sweepTokens, extraCapacity: 16) }.median
    /// The sweep from one shared prefill, its 24 forks decoded `batch` at a time (1: one after another):
    /// its seconds, and where the forks' time went (fork work, weights, attention, logits, the rest).
    func sweep(batch: Int) throws -> (seconds: Double, parts: [Double]) {
        var parts = [Double](repeating: 0, count: 5)
        let seconds = try timed {
            let methods = try methodNames.flatMap { name in
                try budgets.map { try MethodRegistry.make(MethodSpec(name: name), budgetTokens: $0, model: c) }
            }
            let needs = methods.reduce(PrefillNeeds.none) { $0.merged(with: $1.prefillNeeds) }
            let shared = try model.prefill(sweepTokens, extraCapacity: 16, needs: needs)
            for first in stride(from: 0, to: methods.count, by: batch) {
                for run in try model.generate(from: shared, methods: Array(methods[first..<min(methods.count, first + batch)]),
                                              maxNewTokens: 16, stopTokens: []) {
                    let b = run.breakdown
                    parts[0] += run.forkSeconds
                    for (i, ns) in [b.weightNanoseconds, b.attentionNanoseconds, b.logitsNanoseconds, b.otherNanoseconds].enumerated() {
                        parts[i + 1] += Double(ns) / 1e9
                    }
                }
            }
        }
        return (seconds, parts)
    }
    let alone = try sweep(batch: 1), together = try sweep(batch: 24)
    line("sweep %d methods × %d budgets, 2048-token sample, 16 new tokens, forks decoded together: %.2f s = %.2f prefills-equivalent; one at a time: %.2f s = %.2f (one prefill %.2f s; 24 separate prefills would be ≥ 24)",
         methodNames.count, budgets.count, together.seconds, together.seconds / onePrefill, alone.seconds, alone.seconds / onePrefill, onePrefill)
    for (name, run) in [("together", together), ("one at a time", alone)] {
        line("  %@: fork work %.2f s, weights %.2f, attention %.2f, logits %.2f, rest %.2f", name,
             run.parts[0], run.parts[1], run.parts[2], run.parts[3], run.parts[4])
    }
}
