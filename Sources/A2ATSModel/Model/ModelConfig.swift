/// The shape of a Llama-family model, read from GGUF metadata or a Hugging Face
/// `config.json`. Names follow Hugging Face's so the two loaders map onto one struct.
public struct ModelConfig: Equatable, Sendable {
    public var architecture: String
    public var layerCount: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabSize: Int
    /// The context the model was trained for (before any RoPE scaling).
    public var contextLength: Int
    public var ropeTheta: Float
    public var ropeScaling: RoPEScaling?
    public var rmsNormEpsilon: Float
    public var tiedEmbeddings: Bool
    /// The longest sequence a checkpoint states it runs (`config.json`), which `maxPositions`
    /// then reports; nil for GGUF files, whose limit follows from the context and scaling.
    public var positionLimit: Int?

    public init(architecture: String = "llama", layerCount: Int, hiddenSize: Int, intermediateSize: Int,
                headCount: Int, kvHeadCount: Int, headDim: Int, vocabSize: Int, contextLength: Int,
                ropeTheta: Float, ropeScaling: RoPEScaling? = nil, rmsNormEpsilon: Float, tiedEmbeddings: Bool) {
        self.architecture = architecture
        self.layerCount = layerCount
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.rmsNormEpsilon = rmsNormEpsilon
        self.tiedEmbeddings = tiedEmbeddings
    }

    /// Query heads that share one KV head (GQA).
    public var groupSize: Int { headCount / kvHeadCount }

    /// The longest prompt + generation the model can run, with RoPE scaling if it has one.
    public var maxPositions: Int {
        if let positionLimit { return positionLimit }
        guard let ropeScaling else { return contextLength }
        // In Double and saturated: both numbers come from the model file and may be absurd.
        let scaled = Double(ropeScaling.originalContextLength ?? contextLength) * Double(ropeScaling.factor)
        return scaled < 9e18 ? Int(scaled) : Int.max
    }
}

/// RoPE frequency scaling, as Hugging Face's `rope_scaling` (or GGUF `rope.scaling.*`) states it;
/// `RotaryEmbedding` applies it by the formulas of transformers' `modeling_rope_utils`.
public struct RoPEScaling: Equatable, Sendable {
    public enum Kind: String, Sendable, CaseIterable { case linear, llama3, dynamic, yarn }
    public var kind: Kind
    public var factor: Float
    /// llama3 only.
    public var lowFrequencyFactor: Float = 1
    public var highFrequencyFactor: Float = 4
    /// llama3 and yarn: the pretraining context the frequencies are rescaled from.
    public var originalContextLength: Int?
    /// yarn only: the extrapolation/interpolation boundaries in rotations (`beta_fast`,
    /// `beta_slow`), whether the correction range is rounded outwards (`truncate`), and the factor
    /// on cos and sin (`attention_factor`, already derived from `mscale` where the config gives that).
    public var betaFast: Double = 32
    public var betaSlow: Double = 1
    public var truncate = true
    public var attentionFactor: Double = 1

    public init(kind: Kind, factor: Float, lowFrequencyFactor: Float = 1, highFrequencyFactor: Float = 4,
                originalContextLength: Int? = nil) {
        self.kind = kind
        self.factor = factor
        self.lowFrequencyFactor = lowFrequencyFactor
        self.highFrequencyFactor = highFrequencyFactor
        self.originalContextLength = originalContextLength
    }
}
