import A2ATSTensor
import Foundation

/// A Hugging Face checkpoint directory (`config.json`, `model.safetensors` or shards listed in
/// `model.safetensors.index.json`) as a `WeightSource`: tensors renamed to the GGUF names the
/// engine uses, Q/K rows (and biases) reordered from transformers' rotate-half layout into the
/// adjacent pairs the engine rotates (the same reordering a Qwen2 GGUF gets), and bf16/f16
/// matrices handed to the engine compactly (2 bytes a weight, see `QuantizedMatrix+Half`).
/// Every tensor the config implies is checked on open (present, dtype readable, shape).
public final class CheckpointModelSource: WeightSource {
    public let directory: String
    public let checkpoint: CheckpointConfig
    public var config: ModelConfig { checkpoint.model }
    public var location: String { directory }
    /// The file that identifies the weights: `model.safetensors`, or the index of a sharded checkpoint.
    public let weightsFile: String
    private let tensors: [String: (file: SafetensorsFile, name: String)]

    public init(directory: String) throws {
        self.directory = directory
        checkpoint = try CheckpointConfig(directory: directory)
        let single = directory + "/model.safetensors", index = directory + "/model.safetensors.index.json"
        var byName: [String: SafetensorsFile] = [:]
        if FileManager.default.fileExists(atPath: index) {
            weightsFile = index
            guard let map = try CheckpointConfig.readJSON(index)["weight_map"]?.objectValue else {
                throw CheckpointError.invalidField(path: index, field: "weight_map", problem: "required object is absent")
            }
            var shards: [String: SafetensorsFile] = [:]
            for (tensor, shardValue) in map {
                guard let shard = shardValue.stringValue, !shard.contains("/") else {
                    throw CheckpointError.invalidField(path: index, field: "weight_map.\(tensor)",
                                                       problem: "expected a file name in this directory, found \(shardValue.compactText)")
                }
                if shards[shard] == nil {
                    guard FileManager.default.fileExists(atPath: directory + "/" + shard) else {
                        throw CheckpointError.missingShard(path: index, shard: shard, tensor: tensor)
                    }
                    shards[shard] = try SafetensorsFile(path: directory + "/" + shard)
                }
                byName[tensor] = shards[shard]
            }
        } else if FileManager.default.fileExists(atPath: single) {
            weightsFile = single
            let file = try SafetensorsFile(path: single)
            for name in file.tensorNames { byName[name] = file }
        } else {
            throw CheckpointError.missingFile(path: directory, needed: "model.safetensors or model.safetensors.index.json")
        }
        var tensors: [String: (file: SafetensorsFile, name: String)] = [:]
        for (engineName, expected) in GGUFModelSource.expectedShapes(checkpoint.model, projectionBias: checkpoint.family.projectionBias) {
            let name = Self.checkpointName(engineName)
            guard let file = byName[name], let info = file.tensors[name] else {
                throw CheckpointError.missingTensor(path: byName[name]?.path ?? weightsFile, tensor: name)
            }
            guard CheckpointError.supportedDtypes.contains(info.dtype) else {
                throw CheckpointError.unsupportedDtype(path: file.path, tensor: name, dtype: info.dtype)
            }
            guard info.shape == expected.reversed() else {
                throw CheckpointError.tensorShape(path: file.path, tensor: name, expected: expected.reversed(), found: info.shape)
            }
            tensors[engineName] = (file, name)
        }
        self.tensors = tensors
    }

    /// The transformers name of engine tensor `name` (`blk.3.attn_q.weight` →
    /// `model.layers.3.self_attn.q_proj.weight`).
    static func checkpointName(_ name: String) -> String {
        switch name {
        case "token_embd.weight": return "model.embed_tokens.weight"
        case "output_norm.weight": return "model.norm.weight"
        case "output.weight": return "lm_head.weight"
        default: break
        }
        let parts = name.split(separator: ".", maxSplits: 2).map(String.init)  // blk, N, rest
        let renamed: [String: String] = [
            "attn_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
            "attn_q.weight": "self_attn.q_proj.weight", "attn_k.weight": "self_attn.k_proj.weight",
            "attn_v.weight": "self_attn.v_proj.weight", "attn_output.weight": "self_attn.o_proj.weight",
            "attn_q.bias": "self_attn.q_proj.bias", "attn_k.bias": "self_attn.k_proj.bias",
            "attn_v.bias": "self_attn.v_proj.bias", "ffn_gate.weight": "mlp.gate_proj.weight",
            "ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight",
        ]
        return "model.layers.\(parts[1])." + (renamed[parts[2]] ?? parts[2])
    }

    public func shape(_ name: String) -> [Int]? { tensors[name].flatMap { $0.file.tensors[$0.name]?.shape.reversed() } }

    /// For Q/K weights and biases: the stored row each engine row reads (rotate-half → adjacent pairs).
    private func rowOrder(_ name: String, rows: Int) -> [Int]? {
        GGUFArchitecture.isRotated(name) ? GGUFArchitecture.adjacentPairOrder(rows: rows, headDim: config.headDim) : nil
    }

    public func tensor(_ name: String) throws -> [Float] {
        guard let (file, stored) = tensors[name], let info = file.tensors[stored] else {
            throw CheckpointError.missingTensor(path: weightsFile, tensor: Self.checkpointName(name))
        }
        let values = try file.floats(stored)
        guard let order = rowOrder(name, rows: info.shape[0]) else { return values }
        let width = values.count / order.count
        var reordered = [Float](repeating: 0, count: values.count)
        for (row, source) in order.enumerated() {
            reordered[(row * width)..<((row + 1) * width)] = values[(source * width)..<((source + 1) * width)]
        }
        return reordered
    }

    /// bf16/f16 matrices as stored (rows reordered for Q/K), 2 bytes a weight; nil for f32 ones
    /// and widths the 32-column kernels cannot take.
    public func compactMatrix(_ name: String) -> QuantizedMatrix? {
        guard let (file, stored) = tensors[name], let info = file.tensors[stored], info.shape.count == 2,
              info.shape[1] % 32 == 0, let bytes = file.rawBytes(stored) else { return nil }
        let format: QuantizedMatrix.Format
        switch info.dtype {
        case "BF16": format = .bf16
        case "F16": format = .f16
        default: return nil
        }
        let (rows, cols) = (info.shape[0], info.shape[1])
        guard let order = rowOrder(name, rows: rows) else {
            return QuantizedMatrix(halfFormat: format, rows: rows, cols: cols, values: bytes)
        }
        let rowBytes = cols * 2
        let reordered = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        defer { reordered.deallocate() }
        for (row, source) in order.enumerated() {
            UnsafeMutableRawBufferPointer(rebasing: reordered[(row * rowBytes)...])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[(source * rowBytes)...].prefix(rowBytes)))
        }
        return QuantizedMatrix(halfFormat: format, rows: rows, cols: cols, values: UnsafeRawBufferPointer(reordered))
    }
}
