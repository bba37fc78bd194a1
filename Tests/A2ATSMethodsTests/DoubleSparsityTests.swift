import A2ATSTensor
@testable import A2ATSModel
@testable import A2ATSMethods
import Foundation
import XCTest

/// Double Sparsity against its rule worked out here by brute force (arXiv 2408.07092; reference
/// `config/offline_calibration.py`, `pseudo_quantize`): per query head, scores over its first
/// `channels` offline channels, top B, union over the GQA group; labels at 16 bits are Float16,
/// below that min–max codes per token (for the query too). The offline artifact is saved, reloaded
/// and refused when it does not fit.
final class DoubleSparsityTests: XCTestCase {
    let model = makeModel(layers: 1, heads: 2, kvHeads: 1, headDim: 4)
    /// Head 0 reads channels 2, 0; head 1 reads channels 1, 3.
    let order = [2, 0, 1, 3, 1, 3, 0, 2]

    /// Top-k of `scores`, ties to the lower index, ascending.
    private func topK(_ scores: [Float], _ k: Int) -> [Int32] {
        Array(scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(k))
            .sorted().map(Int32.init)
    }

    private func select(_ method: DoubleSparsity, cache: KVCache, query: [Float]) throws -> TokenSelection {
        try prefill(method, cache, makeStatistics(model, promptLength: cache.length))
        return query.withUnsafeBufferPointer {
            method.select(DecodeQuery(layer: 0, position: cache.length - 1, queries: $0.baseAddress!, preRoPEQueries: $0.baseAddress!),
                          cache: cache)
        }
    }

    /// Keys of small integers (exact in Float16): the label scores are exact sums over two channels.
    func testSixteenBitLabelsRankByTheHeadsOwnChannels() throws {
        let keys: [[Float]] = [[1, 0, 5, 0], [0, 4, 0, 1], [3, 0, 0, 0], [0, 0, 2, 3], [1, 1, 1, 1], [0, -2, 4, 2]]
        let cache = makeCache(model, tokens: keys.count) { _, _, t in keys[t] }
        let query: [Float] = [1, 0.5, 1, 2,  0, 1, 3, 1]
        let method = DoubleSparsity(model: model, channelOrder: order, channels: 2, bits: 16, budget: 2, sinks: 0, window: 0)
        let selection = try select(method, cache: cache, query: query)
        let head0 = keys.map { query[2] * $0[2] + query[0] * $0[0] }   // 6, 0, 3, 2, 2, 4 → {0, 5}
        let head1 = keys.map { query[4 + 1] * $0[1] + query[4 + 3] * $0[3] } // 0, 5, 0, 3, 2, 0 → {1, 3}
        let expected = Array(Set(topK(head0, 2) + topK(head1, 2))).sorted()
        XCTAssertEqual(expected, [0, 1, 3, 5])
        XCTAssertEqual(selection.perKVHead[0], expected)
        // Exact q·k over all channels would pick other tokens: the label channels decide.
        let exact0 = keys.map { zip(query[0..<4], $0).reduce(0) { $0 + $1.0 * $1.1 } }
        XCTAssertNotEqual(topK(exact0, 2), topK(head0, 2))
    }

    /// Reference `pseudo_quantize`, written out: per vector, scale = (2^b − 1)/(max − min), x̂ = round((x − min)·scale)/scale + min.
    private func pseudoQuantize(_ x: [Float], bits: Int) -> [Float] {
        let low = x.min()!, high = x.max()!
        let scale = Float((1 << bits) - 1) / (high - low == 0 ? 1 : high - low)
        return x.map { min(max((($0 - low) * scale).rounded(.toNearestOrEven), 0), Float((1 << bits) - 1)) / scale + low }
    }

    func testQuantizedLabelsFollowPseudoQuantize() throws {
        let model = makeModel(layers: 1, heads: 2, kvHeads: 1, headDim: 8)
        var rng = SeededGenerator(seed: 7)
        let n = 48, budget = 5, channels = 3
        let keys = (0..<n).map { _ in rng.vector(8) }
        let query = rng.vector(16)
        let order = Array(0..<8).reversed() + [5, 1, 6, 0, 2, 3, 4, 7]
        for bits in [2, 4, 8] {
            let cache = makeCache(model, tokens: n) { _, _, t in keys[t] }
            let method = DoubleSparsity(model: model, channelOrder: order, channels: channels, bits: bits, budget: budget, sinks: 1, window: 2)
            let selection = try select(method, cache: cache, query: query)
            var expected = Set<Int32>([0, Int32(n - 2), Int32(n - 1)])
            for head in 0..<2 {
                let chosen = Array(order[(head * 8)..<(head * 8 + channels)])
                let q = pseudoQuantize(chosen.map { query[head * 8 + $0] }, bits: bits)
                let scores = keys.map { k in zip(q, pseudoQuantize(chosen.map { k[$0] }, bits: bits)).reduce(0) { $0 + $1.0 * $1.1 } }
                let sorted = scores.sorted(by: >)
                XCTAssertGreaterThan(sorted[budget - 1] - sorted[budget], 1e-4, "bits=\(bits): the case must not hinge on rounding")
                expected.formUnion(topK(scores, budget))
            }
            XCTAssertEqual(selection.perKVHead[0], expected.sorted(), "bits=\(bits)")
            XCTAssertLessThanOrEqual(selection.perKVHead[0]!.count, 2 * budget + 3)
            // Label cache: per token and query head, packed codes plus a Float32 min and scale; channel lists as Int32.
            XCTAssertEqual(method.sideBytes(cache: cache), 2 * (n * ((channels * bits + 7) / 8 + 8) + channels * 4))
        }
    }

    func testBudgetCoveringTheCacheReadsEverything() throws {
        let cache = makeCache(model, tokens: 6) { _, _, t in [Float(t), 1, 2, 3] }
        let method = DoubleSparsity(model: model, channelOrder: order, channels: 2, bits: 4, budget: 6, sinks: 0, window: 0)
        XCTAssertNil(try select(method, cache: cache, query: [1, 2, 3, 4, 5, 6, 7, 8]).perKVHead[0])
    }

    /// Channels by Σ_t |q_t[c]·k_t[c]| with q_t paired to its own token's key through `keyRows`.
    func testCalibrationOrdersChannelsByMeanAbsoluteQK() {
        let d = 3, g = 2
        let keys: [Float] = [1, 2, 3,  -4, 0, 1,  0.5, 0.5, 9]
        let keyRows = [2, 0]
        let queries: [Float] = [1, 1, 1,  0, 2, 0,    // token 0 (key row 2): head 0, head 1
                                3, 0, -1,  1, 1, 0]   // token 1 (key row 0)
        let orders = DoubleSparsity.channelOrder(CalibrationSamples(queries: queries, keys: keys, keyRows: keyRows), groupSize: g, headDim: d)
        // head 0: |1·.5|+|3·1| = 3.5, |1·.5|+0 = .5, |1·9|+|-1·3| = 12 → 2, 0, 1
        // head 1: 0+|1·1| = 1, |2·.5|+|1·2| = 3, 0 → 1, 0, 2
        XCTAssertEqual(orders, [[2, 0, 1], [1, 0, 2]])
    }

    func testArtifactIsSavedReloadedAndRefusedWhenItDoesNotFit() throws {
        let directory = NSTemporaryDirectory() + "ds-artifact-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shape = ArtifactShape(model)
        let request = DoubleSparsity.artifactRequest
        XCTAssertEqual(request.fileName, "doublesparsity-tokens16384.a2oa")
        let samples = [CalibrationSamples(queries: (0..<16).map { Float($0 % 5) - 2 }, keys: (0..<8).map { Float($0) }, keyRows: [1, 0])]
        let artifact = OfflineArtifact(kind: request.kind, modelFingerprint: "0123456789abcdef", shape: shape,
                                       settings: request.settings, tensors: try request.build(shape) { _ in samples })
        let path = directory + "/" + request.fileName
        try OfflineArtifactFile.write(artifact, to: path)
        XCTAssertEqual(try OfflineArtifactFile.read(from: path, expecting: artifact), artifact)
        XCTAssertTrue(FileManager.default.fileExists(atPath: OfflineArtifactFile.manifestPath(for: path)))

        var otherModel = artifact
        otherModel.modelFingerprint = "fedcba9876543210"
        XCTAssertThrowsError(try OfflineArtifactFile.read(from: path, expecting: otherModel)) {
            XCTAssertEqual($0 as? OfflineArtifactError, .mismatch(file: path, field: "model sha256 prefix",
                                                                  expected: "fedcba9876543210", found: "0123456789abcdef"))
        }
        var otherShape = artifact
        otherShape.shape.headDim = 8
        XCTAssertThrowsError(try OfflineArtifactFile.read(from: path, expecting: otherShape)) {
            XCTAssertEqual($0 as? OfflineArtifactError, .mismatch(file: path, field: "head dimension", expected: "8", found: "4"))
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try OfflineArtifactFile.read(from: path)) {
            XCTAssertEqual($0 as? OfflineArtifactError, .corrupt(file: path, problem: "checksum mismatch (file damaged or truncated)"))
        }
        var damaged = bytes
        damaged[0] = 0x5A
        try damaged.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try OfflineArtifactFile.read(from: path)) {
            XCTAssertEqual($0 as? OfflineArtifactError, .corrupt(file: path, problem: "wrong magic number"))
        }
        // A channel index outside the head is bad content, named by tensor.
        var bad = artifact
        bad.tensors["channel_order"]![0] = 9
        XCTAssertThrowsError(try bad.indices("channel_order", count: 8, in: 0..<4)) {
            XCTAssertEqual($0 as? OfflineArtifactError,
                           .badTensor(kind: "doublesparsity", name: "channel_order", problem: "value 9.0 is not an index in 0..<4"))
        }
        XCTAssertThrowsError(try MethodRegistry.make(MethodSpec.parse("doublesparsity:channels=2"), budgetTokens: 4, model: model)) {
            XCTAssertEqual($0 as? OfflineArtifactError, .noSource(kind: "doublesparsity"), "\($0)")
        }
    }
}
