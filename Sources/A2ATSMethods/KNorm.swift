import A2ATSModel

/// KNorm, "A Simple and Effective L2 Norm-Based Strategy for KV Cache Compression"
/// (arXiv 2406.11430). Reference settings: keep the B tokens whose keys have the lowest L2 norm,
/// per layer and KV head, once at the end of prefill; no protected sinks or window (the paper
/// observes that sink tokens already have low key norms). The authors' code (alessiodevoto/
/// l2compress) leaves some layers whole: `eval_needle.py` defaults to `--skip_layers 0`, the
/// reference setting here (`skip_layers=0`); their needle sweep `scripts/needle_loop.sh` uses
/// `0,1,12` on 32-layer Llama-2 (`skip_layers=0/1/12`); `skip_layers=none` compresses every
/// layer, as kvpress's `KnormPress` does. A skipped layer reads its whole cache.
///
/// Norms are taken on the cached post-RoPE keys; RoPE rotates pairs of channels, so the norm is the
/// pre-RoPE key's norm up to rounding. Generated tokens are all kept.
public final class KNorm: ScoredEvictionMethod {
    public static let descriptor = MethodDescriptor(
        name: "knorm", summary: "keeps the keys with the lowest L2 norm", kind: .eviction,
        parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "knorm")
        return KNorm(model: context.model, budget: budget ?? 0, skipLayers: p.layers("skip_layers"))
    }

    public static let parameterSpecs = [
        ParameterSpec(name: "skip_layers", defaultValue: "0",
                      help: "layers left uncompressed, '/'-separated (0/1/12) or none", type: .layerList),
    ]

    public let skipLayers: Set<Int>

    public init(model: ModelConfig, budget: Int, skipLayers: Set<Int> = []) {
        self.skipLayers = skipLayers
        super.init(model: model, budget: budget)
    }

    override func layerBudget(_ layer: Int, promptLength: Int) -> Int? { skipLayers.contains(layer) ? Int.max : nil }

    /// −‖k‖: the lowest norms score highest.
    override func scores(layer: Int, kvHead: Int, cache: KVCache, statistics: PrefillStatistics) throws -> [Float] {
        let d = cache.headDim, keys = cache.keys(layer: layer, kvHead: kvHead)
        return (0..<cache.length).map { j -> Float in
            var sum: Float = 0
            for c in 0..<d { sum += keys[j * d + c] * keys[j * d + c] }
            return -sum.squareRoot()
        }
    }
}
