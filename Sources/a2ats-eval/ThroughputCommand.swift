import A2ATSHarness
import A2ATSSupport
import Foundation

/// `throughput`: the A²ATS paper's serving claim as a cost model (ServingCostModel) — batch size
/// and tokens/s with K/V on the GPU and with K/V offloaded to the CPU, at each context length —
/// fed by this machine's measured sparse-attention kernel and the hardware figures given as flags.
enum ThroughputCommand: Subcommand {
    static let spec = CommandSpec(
        name: "a2ats-eval throughput",
        abstract: "Model long-context serving throughput with and without A²ATS's CPU offloading (batch size, tokens/s, speed-up), with the CPU term timed on this machine.",
        usage: "[--shape llama-3.1-8b] [--contexts 32768,65536,131072] [hardware flags]",
        options: [
            OptionSpec("shape", valueName: "name", help: "model shapes: " + ServingCostModel.Shape.known.map(\.name).joined(separator: ", "),
                       defaultValue: "llama-3.1-8b"),
            OptionSpec("contexts", valueName: "list", help: "context lengths in tokens", defaultValue: "32768,65536,131072"),
            OptionSpec("gpu-memory-gib", valueName: "x", help: "GPU memory (an H100 SXM: 80)", defaultValue: "80"),
            OptionSpec("gpu-reserved-gib", valueName: "x", help: "GPU memory kept for activations, allocator and context", defaultValue: "6"),
            OptionSpec("gpu-bandwidth-gbs", valueName: "x", help: "GPU memory bandwidth, GB/s (H100 SXM: 3350)", defaultValue: "3350"),
            OptionSpec("gpu-tflops", valueName: "x", help: "dense bf16 TFLOP/s (H100 SXM: 989)", defaultValue: "989"),
            OptionSpec("pcie-gbs", valueName: "x", help: "host link, GB/s each way (PCIe 5.0 x16, effective)", defaultValue: "50"),
            OptionSpec("cpu-cores", valueName: "n", help: "host cores doing sparse attention", defaultValue: "32"),
            OptionSpec("cpu-memory-gib", valueName: "x", help: "host memory for every sequence's K/V", defaultValue: "512"),
            OptionSpec("cpu-bandwidth-gbs", valueName: "x", help: "host memory bandwidth, GB/s", defaultValue: "200"),
            OptionSpec("cpu-kv-bytes", valueName: "n",
                       help: "bytes per K/V element in host memory (2: bf16 as the GPU wrote it; the timed kernel reads f32)",
                       defaultValue: "2"),
            OptionSpec("cpu-seconds-per-row", valueName: "x",
                       help: "seconds per selected row of one KV head on one core (default: timed here with the engine's kernel)"),
            OptionSpec("topk", valueName: "f", help: "fraction each query head selects (the paper: 0.03)", defaultValue: "0.03"),
            OptionSpec("group-overlap", valueName: "f",
                       help: "a GQA group's union as a fraction of G·topk (0.6: the default model's measured union at topk 0.03)",
                       defaultValue: "0.6"),
            OptionSpec("sinks", valueName: "n", help: "first tokens always read", defaultValue: "8"),
            OptionSpec("window", valueName: "n", help: "recent tokens always read", defaultValue: "64"),
            OptionSpec("centroids", valueName: "n", help: "codebook entries C (the paper: 4096)", defaultValue: "4096"),
            OptionSpec("max-batch", valueName: "n", help: "largest batch considered", defaultValue: "256"),
        ])

    static func execute(_ arguments: ParsedArguments) throws {
        func number(_ name: String) throws -> Double {
            let text = arguments.value(name) ?? ""
            guard let value = Double(text), value.isFinite, value > 0 else { throw UsageError("--\(name) expects a positive number, got '\(text)'") }
            return value
        }
        func count(_ name: String, allowZero: Bool = false) throws -> Int {
            guard let value = try arguments.intValue(name), value > 0 || (allowZero && value == 0) else {
                throw UsageError("--\(name) expects a \(allowZero ? "non-negative" : "positive") integer, got '\(arguments.value(name) ?? "")'")
            }
            return value
        }
        let shapeName = arguments.value("shape") ?? ""
        let names = ServingCostModel.Shape.known.map(\.name)
        guard let shape = ServingCostModel.Shape.known.first(where: { $0.name == shapeName }) else {
            let guess = closestMatches(to: shapeName, among: names, ignoringCase: true, containmentIsOneEdit: true)
            throw UsageError("unknown --shape '\(shapeName)'" + (guess.first.map { " (did you mean \"\($0)\"?)" } ?? "")
                             + "; known: " + names.joined(separator: ", "))
        }
        let contexts = try (arguments.value("contexts") ?? "").split(separator: ",").map { text -> Int in
            guard let n = Int(text), n > 0 else { throw UsageError("--contexts expects positive integers, got '\(text)'") }
            return n
        }
        let gib = Double(1 << 30)
        let sparse = ServingCostModel.Sparse(topk: try number("topk"), groupOverlap: try number("group-overlap"),
                                             sinks: try count("sinks", allowZero: true), window: try count("window", allowZero: true),
                                             centroids: try count("centroids"), codeBytes: 2)
        guard sparse.topk < 1, sparse.groupOverlap <= 1 else { throw UsageError("--topk must be < 1 and --group-overlap ≤ 1") }
        // The CPU term: this project's kernel at the shape's head dim and group, at the rows a step selects.
        let timedRows = Int(sparse.selectedRows(context: 32768, groupSize: shape.groupSize))
        let secondsPerRow: Double
        let rowSource: String
        if arguments.value("cpu-seconds-per-row") != nil {
            (secondsPerRow, rowSource) = (try number("cpu-seconds-per-row"), "given")
        } else {
            // As many cores at once as the model spends (up to this machine's): their shared memory
            // bandwidth is part of the cost.
            let threads = min(try count("cpu-cores"), ProcessInfo.processInfo.activeProcessorCount)
            secondsPerRow = SparseAttentionTimer.secondsPerRow(headDim: shape.headDim, groupSize: shape.groupSize,
                                                              cacheRows: 32768, rows: timedRows, threads: threads)
            rowSource = "timed here: GroupedAttention on \(threads) of \(ProcessInfo.processInfo.activeProcessorCount) cores at once, "
                + "\(timedRows) random rows of a 32768-row f32 cache each, d = \(shape.headDim), G = \(shape.groupSize)"
        }
        let model = ServingCostModel(
            shape: shape,
            gpu: .init(memoryBytes: try number("gpu-memory-gib") * gib, bandwidth: try number("gpu-bandwidth-gbs") * 1e9,
                       flops: try number("gpu-tflops") * 1e12, pcieBandwidth: try number("pcie-gbs") * 1e9,
                       reservedBytes: try number("gpu-reserved-gib") * gib),
            cpu: .init(cores: try count("cpu-cores"), memoryBytes: try number("cpu-memory-gib") * gib,
                       bandwidth: try number("cpu-bandwidth-gbs") * 1e9, secondsPerRow: secondsPerRow,
                       bytesPerElement: Double(try count("cpu-kv-bytes"))),
            sparse: sparse, maxBatch: try count("max-batch"))
        print(ThroughputReport.render(model: model, contexts: contexts, rowSource: rowSource))
    }
}
