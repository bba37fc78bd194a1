@testable import A2ATSHarness
import XCTest

/// The serving cost model against figures worked by hand (each step written out below) and
/// against Llama-3.1-8B's published parameter count (8,030,261,248 in its Hugging Face card).
final class ServingCostModelTests: XCTestCase {
    /// 2 layers, hidden 8, 4 query / 2 KV heads of d = 4, ffn 16, vocab 10.
    let tiny = ServingCostModel.Shape(name: "tiny", layers: 2, hidden: 8, heads: 4, kvHeads: 2, headDim: 4, ffn: 16, vocab: 10)

    func model(cpuMemory: Double = 5000) -> ServingCostModel {
        ServingCostModel(shape: tiny,
                         gpu: .init(memoryBytes: 10000, bandwidth: 1000, flops: 10000, pcieBandwidth: 100, reservedBytes: 528),
                         cpu: .init(cores: 4, memoryBytes: cpuMemory, bandwidth: 1000, secondsPerRow: 0.5, bytesPerElement: 4),
                         sparse: .init(topk: 0.1, groupOverlap: 0.5, sinks: 1, window: 2, centroids: 8, codeBytes: 2),
                         maxBatch: 100)
    }

    func testParameterCounts() {
        // Per layer: q,o 2·8·16 = 256; k,v 2·8·8 = 128; MLP 3·8·16 = 384; norms 16 → 784. Two layers,
        // two embeddings 2·10·8 = 160, final norm 8: 1736.
        XCTAssertEqual(tiny.parameters, 1736)
        XCTAssertEqual(ServingCostModel.Shape.llama31_8B.parameters, 8_030_261_248)
    }

    func testResidentPlan() {
        // Free for K/V: 10000 − 528 − 2·1736 = 6000 bytes; one sequence of 10 tokens holds
        // 10 · (2 · 2 layers · 2 heads · 4 · 2 bytes) = 640 → batch 9. Step: bytes 3472 + 9·640 =
        // 9232 at 1000 B/s = 9.232 s; FLOPs 2·1736·9 + 4·10·4·4·2·9 = 42768 at 10000 = 4.28 s.
        let plan = model().resident(context: 10)
        XCTAssertEqual(plan.batch, 9)
        XCTAssertEqual(plan.batchLimit, "GPU memory")
        XCTAssertEqual(plan.gpuSeconds, 9.232, accuracy: 1e-9)
        XCTAssertEqual(plan.tokensPerSecond, 9 / 9.232, accuracy: 1e-9)
    }

    func testOffloadedPlan() {
        // GPU: codebooks 2·2·8·4·2 = 256, codes 10·2·2·2 = 80 per sequence → 5744/80 = 71; host:
        // 5000 / (10 · 128) = 3 → batch 3, limited by CPU memory. Rows: 0.5·2·0.1·10 = 1, + 3 = 4.
        // GPU bytes 3472 + 240 + 256 = 3968 → 3.968 s (FLOPs 10416 + 3·2·4·(64 + 10) = 12192 → 1.22 s).
        // CPU: 3·2·2·4 = 48 rows · 0.5 s / 4 cores = 6 s (reading them: 48·2·4·4/1000 = 1.536 s).
        // PCIe: 3·2·(2·4·4·2 + 2·4·4) = 576 bytes → 5.76 s. Step 6 s (CPU); serial 15.728 s.
        let plan = model().offloaded(context: 10)
        XCTAssertEqual(plan.batch, 3)
        XCTAssertEqual(plan.batchLimit, "CPU memory")
        XCTAssertEqual(model().selectedRows(context: 10), 4)
        XCTAssertEqual(plan.gpuSeconds, 3.968, accuracy: 1e-9)
        XCTAssertEqual(plan.cpuSeconds, 6, accuracy: 1e-9)
        XCTAssertEqual(plan.pcieSeconds, 5.76, accuracy: 1e-9)
        XCTAssertEqual(plan.bottleneck, "CPU")
        XCTAssertEqual(plan.tokensPerSecond, 0.5, accuracy: 1e-12)
        XCTAssertEqual(plan.serialTokensPerSecond, 3 / 15.728, accuracy: 1e-12)
        // With ample host memory the GPU's codes set the batch, and --max-batch caps it.
        XCTAssertEqual(model(cpuMemory: 1e9).offloaded(context: 10).batch, 71)
    }

    func testNothingFits() {
        // 100 tokens need 6400 bytes of K/V: more than the 6000 free, so no resident batch.
        let plan = model().resident(context: 100)
        XCTAssertEqual(plan.batch, 0)
        XCTAssertEqual(plan.tokensPerSecond, 0)
    }

    func testTimedKernelGivesAPositiveCost() {
        let seconds = SparseAttentionTimer.secondsPerRow(headDim: 16, groupSize: 2, cacheRows: 512, rows: 64, repeats: 3)
        XCTAssertGreaterThan(seconds, 0)
        XCTAssertLessThan(seconds, 1e-3)
    }
}
