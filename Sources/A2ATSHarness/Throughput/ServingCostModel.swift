import Foundation

/// The A²ATS paper's serving argument (arXiv 2502.12665, §5: up to 2.7× throughput) as a cost
/// model: keep K/V in CPU memory, let the GPU hold weights, codebooks and codes, score tokens on
/// the GPU, and attend to the selected tokens on the CPU. GPU memory then sets a far larger
/// batch; each decode step costs the slowest of GPU work, CPU sparse attention and the PCIe
/// traffic between them (the paper overlaps them across layers), and throughput is
/// batch / step. Every input is stated, and the CPU term is this project's own kernel, timed.
public struct ServingCostModel {
    /// A decoder's shapes; parameters are counted from them (untied input and output embeddings).
    public struct Shape: Equatable {
        public var name: String
        public var layers, hidden, heads, kvHeads, headDim, ffn, vocab: Int

        public init(name: String, layers: Int, hidden: Int, heads: Int, kvHeads: Int, headDim: Int, ffn: Int, vocab: Int) {
            (self.name, self.layers, self.hidden, self.heads, self.kvHeads, self.headDim, self.ffn, self.vocab) =
                (name, layers, hidden, heads, kvHeads, headDim, ffn, vocab)
        }

        /// Llama-3.1-8B-Instruct, the paper's model (config.json of meta-llama/Llama-3.1-8B-Instruct).
        public static let llama31_8B = Shape(name: "llama-3.1-8b", layers: 32, hidden: 4096, heads: 32, kvHeads: 8,
                                             headDim: 128, ffn: 14336, vocab: 128256)
        public static let known = [llama31_8B]

        public var groupSize: Int { heads / kvHeads }
        /// Projections, MLP and norms of every layer, plus both embeddings: 8.03e9 for Llama-3.1-8B.
        public var parameters: Double {
            let attention = 2 * hidden * heads * headDim + 2 * hidden * kvHeads * headDim
            let layer = attention + 3 * hidden * ffn + 2 * hidden
            return Double(layers * layer + 2 * vocab * hidden + hidden)
        }
    }

    /// The accelerator: memory, its bandwidth, dense 16-bit compute, and the host link.
    public struct GPU: Equatable {
        public var memoryBytes, bandwidth, flops, pcieBandwidth: Double
        /// Memory kept free for activations, the allocator and the CUDA context.
        public var reservedBytes: Double
        public init(memoryBytes: Double, bandwidth: Double, flops: Double, pcieBandwidth: Double, reservedBytes: Double) {
            (self.memoryBytes, self.bandwidth, self.flops, self.pcieBandwidth, self.reservedBytes) =
                (memoryBytes, bandwidth, flops, pcieBandwidth, reservedBytes)
        }
    }

    /// The host: cores for sparse attention, memory that holds every sequence's K/V, its
    /// bandwidth, and the measured cost of one selected row.
    public struct CPU: Equatable {
        public var cores: Int
        public var memoryBytes, bandwidth: Double
        /// Seconds one core spends per selected K/V row of one KV head, its whole query group
        /// attending (GroupedAttention over an index list, f32 rows): timed, or given.
        public var secondsPerRow: Double
        /// Bytes of one K or V element in CPU memory (2 for bf16 as the GPU produced it; 4 for f32).
        public var bytesPerElement: Double
        public init(cores: Int, memoryBytes: Double, bandwidth: Double, secondsPerRow: Double, bytesPerElement: Double) {
            (self.cores, self.memoryBytes, self.bandwidth, self.secondsPerRow, self.bytesPerElement) =
                (cores, memoryBytes, bandwidth, secondsPerRow, bytesPerElement)
        }
    }

    /// A²ATS's settings that size GPU memory and CPU work.
    public struct Sparse: Equatable {
        /// Fraction of cached tokens each query head selects (the paper: 0.03).
        public var topk: Double
        /// The union over a GQA group, as a fraction of G·topk (1 = heads never agree).
        public var groupOverlap: Double
        public var sinks, window, centroids: Int
        /// Bytes per code (12-bit codes rounded up to 2 bytes).
        public var codeBytes: Double
        public init(topk: Double, groupOverlap: Double, sinks: Int, window: Int, centroids: Int, codeBytes: Double) {
            (self.topk, self.groupOverlap, self.sinks, self.window, self.centroids, self.codeBytes) =
                (topk, groupOverlap, sinks, window, centroids, codeBytes)
        }

        /// Rows each KV head reads per step: sinks, window and the group's union of top-k.
        public func selectedRows(context n: Int, groupSize: Int) -> Double {
            let union = min(1, groupOverlap * Double(groupSize) * topk) * Double(n)
            return min(Double(n), union + Double(sinks + window))
        }
    }

    public var shape: Shape
    public var gpu: GPU
    public var cpu: CPU
    public var sparse: Sparse
    /// Bytes per weight and per K/V element on the GPU (bf16).
    public var gpuBytesPerElement: Double = 2
    public var maxBatch: Int

    public init(shape: Shape, gpu: GPU, cpu: CPU, sparse: Sparse, maxBatch: Int) {
        (self.shape, self.gpu, self.cpu, self.sparse, self.maxBatch) = (shape, gpu, cpu, sparse, maxBatch)
    }

    /// One way of serving at one context length.
    public struct Plan: Equatable {
        /// Sequences decoded together; 0 when not even one fits.
        public var batch: Int
        /// What stopped the batch from growing ("GPU memory", "CPU memory", "--max-batch").
        public var batchLimit: String
        public var gpuSeconds, cpuSeconds, pcieSeconds: Double
        /// The step with GPU, CPU and PCIe overlapped (the paper's pipeline): the slowest of the three.
        public var stepSeconds: Double { max(gpuSeconds, cpuSeconds, pcieSeconds) }
        /// The step with nothing overlapped: the pessimistic bound.
        public var serialSeconds: Double { gpuSeconds + cpuSeconds + pcieSeconds }
        public var tokensPerSecond: Double { batch == 0 ? 0 : Double(batch) / stepSeconds }
        public var serialTokensPerSecond: Double { batch == 0 ? 0 : Double(batch) / serialSeconds }
        public var bottleneck: String {
            stepSeconds == gpuSeconds ? "GPU" : stepSeconds == cpuSeconds ? "CPU" : "PCIe"
        }
    }

    var weightBytes: Double { shape.parameters * gpuBytesPerElement }
    /// K and V of one token over every layer and KV head.
    func kvBytesPerToken(bytesPerElement: Double) -> Double {
        2 * Double(shape.layers * shape.kvHeads * shape.headDim) * bytesPerElement
    }
    public func selectedRows(context n: Int) -> Double { sparse.selectedRows(context: n, groupSize: shape.groupSize) }

    /// The (batch, limit) of a memory budget per sequence, capped by --max-batch.
    private func batch(free: Double, perSequence: Double, limit: String) -> (Int, String) {
        let fits = free <= 0 ? 0 : Int((free / perSequence).rounded(.down))
        return fits >= maxBatch ? (maxBatch, "--max-batch") : (fits, limit)
    }

    /// Roofline of one decode step on the GPU: bytes read at bandwidth, or FLOPs at peak, whichever is slower.
    private func gpuStep(batch b: Double, bytes: Double, attentionFlops: Double) -> Double {
        max(bytes / gpu.bandwidth, (2 * shape.parameters * b + attentionFlops) / gpu.flops)
    }

    /// Everything on the GPU: weights and every sequence's K/V in GPU memory.
    public func resident(context n: Int) -> Plan {
        let perSequence = Double(n) * kvBytesPerToken(bytesPerElement: gpuBytesPerElement)
        let (b, limit) = batch(free: gpu.memoryBytes - gpu.reservedBytes - weightBytes, perSequence: perSequence, limit: "GPU memory")
        let attention = 4 * Double(n * shape.heads * shape.headDim * shape.layers) * Double(b)
        let seconds = gpuStep(batch: Double(b), bytes: weightBytes + Double(b) * perSequence, attentionFlops: attention)
        return Plan(batch: b, batchLimit: limit, gpuSeconds: seconds, cpuSeconds: 0, pcieSeconds: 0)
    }

    /// A²ATS offloading: codes and codebooks on the GPU, K/V in CPU memory, sparse attention on the CPU.
    public func offloaded(context n: Int) -> Plan {
        let (l, hkv, hq, d) = (Double(shape.layers), Double(shape.kvHeads), Double(shape.heads), Double(shape.headDim))
        let codebooks = l * hkv * Double(sparse.centroids) * d * gpuBytesPerElement
        let codesPerSequence = Double(n) * l * hkv * sparse.codeBytes
        var (b, limit) = batch(free: gpu.memoryBytes - gpu.reservedBytes - weightBytes - codebooks,
                               perSequence: codesPerSequence, limit: "GPU memory")
        let hostLimit = Int((cpu.memoryBytes / (Double(n) * kvBytesPerToken(bytesPerElement: cpu.bytesPerElement))).rounded(.down))
        if hostLimit < b { (b, limit) = (hostLimit, "CPU memory") }
        let batch = Double(b), rows = selectedRows(context: n)
        // GPU: weights, codes and codebooks read; per query head a C·d table and n lookups.
        let scoring = batch * l * hq * (2 * Double(sparse.centroids) * d + Double(n))
        let gpuSeconds = gpuStep(batch: batch, bytes: weightBytes + batch * codesPerSequence + codebooks, attentionFlops: scoring)
        // CPU: the timed kernel per selected row, spread over the cores, never faster than reading the rows.
        let rowReads = batch * l * hkv * rows
        let cpuSeconds = max(rowReads * cpu.secondsPerRow / Double(cpu.cores),
                             rowReads * 2 * d * cpu.bytesPerElement / cpu.bandwidth)
        // PCIe: queries to the host and outputs back (16-bit), the selected indices (int32).
        let pcieBytes = batch * l * (2 * hq * d * gpuBytesPerElement + hkv * rows * 4)
        return Plan(batch: b, batchLimit: limit, gpuSeconds: gpuSeconds, cpuSeconds: cpuSeconds,
                    pcieSeconds: pcieBytes / gpu.pcieBandwidth)
    }
}
