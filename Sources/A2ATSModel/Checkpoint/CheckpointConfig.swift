import A2ATSSupport
import Foundation

/// A Hugging Face `config.json` (plus `generation_config.json` for EOS ids) mapped onto the
/// engine's `ModelConfig`. Field names and defaults follow transformers' `LlamaConfig`,
/// `MistralConfig` and `Qwen2Config`; anything the engine would compute differently from
/// transformers (another activation, output biases, partial rotary, an unknown rope type) is
/// refused with the file, the field and the supported values.
public struct CheckpointConfig: Sendable {
    /// The `architectures` values the engine runs, and what each needs.
    public enum Family: String, Sendable, CaseIterable {
        case llama = "LlamaForCausalLM", mistral = "MistralForCausalLM", qwen2 = "Qwen2ForCausalLM"

        /// Qwen2 always has Q/K/V biases (`Qwen2Attention`); Llama and Mistral have none.
        var projectionBias: Bool { self == .qwen2 }
        /// `model_type` values, for configs without `architectures`.
        var modelType: String {
            switch self {
            case .llama: return "llama"
            case .mistral: return "mistral"
            case .qwen2: return "qwen2"
            }
        }
    }

    public let path: String
    public let family: Family
    public let model: ModelConfig
    /// Mistral's (or Qwen2's, when `use_sliding_window`) window; the position limit is clamped to
    /// it, since within the window sliding-window attention is full attention.
    public let slidingWindow: Int?
    public let bosTokenID: Int?
    /// `eos_token_id` of `generation_config.json` and `config.json` (an id or a list), in that order.
    public let eosTokenIDs: [Int]

    /// Rope types `rope_scaling.rope_type` (or `type`) may name; `default` means none.
    public static let supportedRopeTypes = ["default"] + RoPEScaling.Kind.allCases.map(\.rawValue)

    public init(directory: String) throws {
        let path = directory + "/config.json"
        self.path = path
        let json = try Self.readJSON(path)
        let fields = FieldReader(path: path, object: json)
        let name = json["architectures"]?.arrayValue?.first?.stringValue
        let type = json["model_type"]?.stringValue
        guard let family = name.flatMap(Family.init(rawValue:)) ?? Family.allCases.first(where: { $0.modelType == type && name == nil })
        else {
            throw CheckpointError.unsupportedValue(path: path, field: name == nil ? "model_type" : "architectures",
                                                   value: name ?? type ?? "(absent)", supported: Family.allCases.map(\.rawValue))
        }
        self.family = family
        if let act = json["hidden_act"]?.stringValue, act != "silu" {
            throw CheckpointError.unsupportedValue(path: path, field: "hidden_act", value: act, supported: ["silu"])
        }
        for flag in ["attention_bias", "mlp_bias"] where json[flag]?.boolValue == true {
            throw CheckpointError.unsupportedValue(path: path, field: flag, value: "true", supported: ["false"])
        }
        let hidden = try fields.positive("hidden_size")
        let heads = try fields.positive("num_attention_heads")
        let kvHeads = try fields.positive("num_key_value_heads", default: heads)
        guard heads % kvHeads == 0 else {
            throw CheckpointError.invalidField(path: path, field: "num_key_value_heads",
                                               problem: "\(kvHeads) does not divide num_attention_heads \(heads)")
        }
        let headDim = try fields.positive("head_dim", default: hidden / heads)
        guard headDim % 2 == 0, headDim > 2 else {
            throw CheckpointError.invalidField(path: path, field: "head_dim", problem: "\(headDim) is not an even number above 2")
        }
        let rope = json["rope_scaling"].flatMap { $0.isNull ? nil : $0 } ?? json["rope_parameters"].flatMap { $0.isNull ? nil : $0 }
        let ropeField = json["rope_scaling"].map { $0.isNull ? "rope_parameters" : "rope_scaling" } ?? "rope_parameters"
        if let partial = json["partial_rotary_factor"]?.doubleValue ?? rope?["partial_rotary_factor"]?.doubleValue, partial != 1 {
            throw CheckpointError.invalidField(path: path, field: "partial_rotary_factor",
                                               problem: "\(partial): partial rotary embeddings are not supported")
        }
        let maxPositions = try fields.positive("max_position_embeddings")
        var model = ModelConfig(
            architecture: family.modelType, layerCount: try fields.positive("num_hidden_layers"), hiddenSize: hidden,
            intermediateSize: try fields.positive("intermediate_size"), headCount: heads, kvHeadCount: kvHeads,
            headDim: headDim, vocabSize: try fields.positive("vocab_size"), contextLength: maxPositions,
            ropeTheta: Float(try rope.flatMap { try FieldReader(path: path, object: $0, prefix: ropeField + ".").optionalNumber("rope_theta") }
                ?? fields.optionalNumber("rope_theta") ?? 10_000),
            rmsNormEpsilon: Float(try fields.optionalNumber("rms_norm_eps") ?? 1e-6),
            tiedEmbeddings: json["tie_word_embeddings"]?.boolValue ?? false)
        let scaling = try rope.flatMap {
            try Self.ropeScaling($0, field: ropeField, path: path, maxPositions: maxPositions,
                                 originalFromConfig: json["original_max_position_embeddings"]?.intValue)
        }
        model.ropeScaling = scaling
        // The limit the checkpoint states, extended where its config gives the pretraining length
        // and a scaling that stretches it (yarn: original × factor, as Qwen2.5 documents; dynamic
        // NTK: max_position_embeddings × factor); llama3 and linear configs state the extended length.
        var limit = maxPositions
        // In Double, saturating at Int.max: a huge factor must not trap.
        func length(_ positions: Int, _ factor: Float) -> Int {
            let scaled = Double(positions) * Double(factor)
            return scaled < Double(Int.max) ? Int(scaled) : Int.max
        }
        if let scaling, scaling.kind == .yarn {
            limit = max(maxPositions, length(scaling.originalContextLength ?? maxPositions, scaling.factor))
        } else if let scaling, scaling.kind == .dynamic {
            limit = length(maxPositions, scaling.factor)
        }
        let windowApplies = family == .mistral || json["use_sliding_window"]?.boolValue == true
        slidingWindow = windowApplies ? json["sliding_window"]?.intValue : nil
        if let slidingWindow { limit = min(limit, slidingWindow) }
        model.positionLimit = limit
        self.model = model

        let generationPath = directory + "/generation_config.json"
        let generation: JSONValue? = FileManager.default.fileExists(atPath: generationPath) ? try Self.readJSON(generationPath) : nil
        func ids(_ value: JSONValue?) -> [Int] { value.map { $0.intValue.map { [$0] } ?? ($0.arrayValue ?? []).compactMap(\.intValue) } ?? [] }
        var eos: [Int] = []
        for id in ids(generation?["eos_token_id"]) + ids(json["eos_token_id"]) where !eos.contains(id) { eos.append(id) }
        eosTokenIDs = eos
        bosTokenID = generation?["bos_token_id"]?.intValue ?? json["bos_token_id"]?.intValue
    }

    static func readJSON(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError.unreadable(path: path, reason: "file not found or not readable")
        }
        do {
            return try data.withUnsafeBytes { try JSONValue.parse(bytes: $0) }
        } catch {
            throw CheckpointError.unreadable(path: path, reason: "not valid JSON (\(error))")
        }
    }

    /// `rope_scaling` / `rope_parameters` as transformers' `standardize_rope_params` and the
    /// `_compute_*_parameters` functions read it; nil for `default`.
    static func ropeScaling(_ rope: JSONValue, field: String, path: String, maxPositions: Int,
                            originalFromConfig: Int?) throws -> RoPEScaling? {
        let fields = FieldReader(path: path, object: rope, prefix: field + ".")
        let typeField = rope["rope_type"] != nil ? "rope_type" : "type"
        let typeName = rope[typeField]?.stringValue ?? "default"
        if typeName == "default" { return nil }
        guard let kind = RoPEScaling.Kind(rawValue: typeName) else {
            throw CheckpointError.unsupportedValue(path: path, field: field + "." + typeField, value: typeName,
                                                   supported: supportedRopeTypes)
        }
        // A positive integer like every length (a huge or fractional number would not convert to Int).
        let original = rope["original_max_position_embeddings"].map(\.isNull) == false
            ? try fields.positive("original_max_position_embeddings") : originalFromConfig
        // Every factor is a positive ratio that must also fit a Float.
        func factor(_ value: Double, _ key: String) throws -> Float {
            guard value > 0, Float(value).isFinite else {
                throw CheckpointError.invalidField(path: path, field: field + "." + key, problem: "\(value): expected a positive number within Float range")
            }
            return Float(value)
        }
        switch kind {
        case .linear, .dynamic:
            return RoPEScaling(kind: kind, factor: try factor(try fields.number("factor"), "factor"))
        case .llama3:
            return RoPEScaling(kind: .llama3, factor: try factor(try fields.number("factor"), "factor"),
                               lowFrequencyFactor: Float(try fields.number("low_freq_factor")),
                               highFrequencyFactor: Float(try fields.number("high_freq_factor")),
                               originalContextLength: original ?? maxPositions)
        case .yarn:
            let originalLength = original ?? maxPositions
            let yarnFactor = Double(try factor(try fields.optionalNumber("factor") ?? Double(maxPositions) / Double(originalLength), "factor"))
            func mscale(_ scale: Double, _ m: Double = 1) -> Double { scale <= 1 ? 1 : 0.1 * m * log(scale) + 1 }
            var scaling = RoPEScaling(kind: .yarn, factor: Float(yarnFactor), originalContextLength: originalLength)
            if let attention = try fields.optionalNumber("attention_factor") {
                scaling.attentionFactor = attention
            } else if let m = try fields.optionalNumber("mscale"), let all = try fields.optionalNumber("mscale_all_dim"),
                      m != 0, all != 0 {
                scaling.attentionFactor = mscale(yarnFactor, m) / mscale(yarnFactor, all)
            } else {
                scaling.attentionFactor = mscale(yarnFactor)
            }
            // transformers treats 0 / null like absent here (`get("beta_fast") or 32`).
            scaling.betaFast = try fields.optionalNumber("beta_fast").flatMap { $0 == 0 ? nil : $0 } ?? 32
            scaling.betaSlow = try fields.optionalNumber("beta_slow").flatMap { $0 == 0 ? nil : $0 } ?? 1
            scaling.truncate = rope["truncate"]?.boolValue ?? true
            return scaling
        }
    }
}

/// Typed reads of a JSON object's fields, each failure naming the file and the field.
struct FieldReader {
    let path: String
    let object: JSONValue
    var prefix = ""

    func optionalNumber(_ key: String) throws -> Double? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let number = value.doubleValue else {
            throw CheckpointError.invalidField(path: path, field: prefix + key, problem: "expected a number, found \(value.typeName)")
        }
        return number
    }

    func number(_ key: String) throws -> Double {
        guard let number = try optionalNumber(key) else {
            throw CheckpointError.invalidField(path: path, field: prefix + key, problem: "required but absent")
        }
        return number
    }

    func positive(_ key: String, default fallback: Int? = nil) throws -> Int {
        guard let value = object[key], !value.isNull else {
            if let fallback { return fallback }
            throw CheckpointError.invalidField(path: path, field: prefix + key, problem: "required but absent")
        }
        guard let int = value.intValue, int > 0 else {
            throw CheckpointError.invalidField(path: path, field: prefix + key, problem: "expected a positive integer, found \(value.compactText)")
        }
        return int
    }
}
