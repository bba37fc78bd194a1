import Foundation

/// The `throughput` command's output: every assumption first, then one row per context length
/// with K/V on the GPU and offloaded, so a reader can redo any figure by hand.
public enum ThroughputReport {
    public static func render(model: ServingCostModel, contexts: [Int], rowSource: String) -> String {
        let s = model.shape, g = model.gpu, c = model.cpu, p = model.sparse
        let gib = Double(1 << 30)
        func f(_ format: String, _ values: CVarArg...) -> String { String(format: format, arguments: values) }
        var lines = [
            "# Serving throughput: K/V on the GPU vs A²ATS offloading (cost model, arXiv 2502.12665 §5)",
            "",
            "Assumptions",
            f("- model %@: %d layers, hidden %d, %d query / %d KV heads, d = %d, ffn %d, vocab %d; %.2fe9 parameters, bf16 weights %.1f GiB",
              s.name, s.layers, s.hidden, s.heads, s.kvHeads, s.headDim, s.ffn, s.vocab, s.parameters / 1e9,
              model.weightBytes / gib),
            f("- GPU: %.0f GiB (%.0f reserved), %.0f GB/s, %.0f TFLOP/s bf16; PCIe %.0f GB/s each way",
              g.memoryBytes / gib, g.reservedBytes / gib, g.bandwidth / 1e9, g.flops / 1e12, g.pcieBandwidth / 1e9),
            f("- CPU: %d cores, %.0f GiB, %.0f GB/s; %.3g ns per selected row of one KV head on one core (%@)",
              c.cores, c.memoryBytes / gib, c.bandwidth / 1e9, c.secondsPerRow * 1e9, rowSource),
            f("- A²ATS: topk %.3g per query head, group union %.2f × G·topk, %d sinks + %d window, C = %d, %.0f-byte codes",
              p.topk, p.groupOverlap, p.sinks, p.window, p.centroids, p.codeBytes),
            "- resident: batch = (GPU memory − reserved − weights) / K/V per sequence (bf16); step = roofline max(bytes / bandwidth, FLOPs / peak)",
            "- offloaded: GPU holds weights, codebooks and codes; step = max(GPU roofline incl. C·d tables and n lookups per query head,"
                + " CPU rows × ns/row / cores (never faster than reading the rows), PCIe queries + outputs + indices): the paper overlaps them;"
                + " the serial sum is shown as the pessimistic bound",
            "",
            "| context | resident batch | resident tok/s | offloaded batch (limit) | rows/KV head/step | GPU ms | CPU ms | PCIe ms | bottleneck | offloaded tok/s | speed-up | serial tok/s | serial speed-up |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for n in contexts {
            let resident = model.resident(context: n), offloaded = model.offloaded(context: n)
            let speedUp = resident.tokensPerSecond > 0 ? f("%.2f×", offloaded.tokensPerSecond / resident.tokensPerSecond) : "∞ (resident: none fits)"
            let serialSpeedUp = resident.tokensPerSecond > 0 ? f("%.2f×", offloaded.serialTokensPerSecond / resident.tokensPerSecond) : "∞"
            lines.append(f("| %d | %d | %.0f | %d (%@) | %.0f | %.2f | %.2f | %.2f | %@ | %.0f | %@ | %.0f | %@ |",
                           n, resident.batch, resident.tokensPerSecond, offloaded.batch, offloaded.batchLimit,
                           model.selectedRows(context: n), offloaded.gpuSeconds * 1e3, offloaded.cpuSeconds * 1e3,
                           offloaded.pcieSeconds * 1e3, offloaded.bottleneck, offloaded.tokensPerSecond, speedUp,
                           offloaded.serialTokensPerSecond, serialSpeedUp))
        }
        return lines.joined(separator: "\n")
    }
}
