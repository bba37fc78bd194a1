import A2ATSSupport

/// What can be wrong with a Hugging Face checkpoint directory (`config.json`, safetensors files,
/// their index), each case naming the file and the field or tensor, so the CLI prints one clear
/// line instead of crashing on bad bytes.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    /// A file the checkpoint needs is absent.
    case missingFile(path: String, needed: String)
    /// A file exists but could not be opened, mapped or parsed as JSON.
    case unreadable(path: String, reason: String)
    /// A safetensors header that is truncated, not a JSON object, or lies about its offsets.
    case malformedSafetensors(path: String, problem: String)
    /// A tensor stored in a dtype this loader does not read.
    case unsupportedDtype(path: String, tensor: String, dtype: String)
    /// `model.safetensors.index.json` maps a tensor to a shard that is not in the directory.
    case missingShard(path: String, shard: String, tensor: String)
    /// A tensor the architecture needs is in no file.
    case missingTensor(path: String, tensor: String)
    /// A tensor's shape (safetensors order, slowest first) disagrees with `config.json`.
    case tensorShape(path: String, tensor: String, expected: [Int], found: [Int])
    /// A `config.json` field that is absent, of the wrong type or impossible.
    case invalidField(path: String, field: String, problem: String)
    /// A `config.json` field naming something the engine does not implement.
    case unsupportedValue(path: String, field: String, value: String, supported: [String])

    /// Dtypes the loader reads (bf16 and f16 stay 2 bytes a weight in memory).
    public static let supportedDtypes = ["F32", "F16", "BF16"]

    public var description: String {
        switch self {
        case .missingFile(let path, let needed):
            return "\(path): missing \(needed)"
        case .unreadable(let path, let reason):
            return "\(path): cannot read: \(reason)"
        case .malformedSafetensors(let path, let problem):
            return "\(path): malformed safetensors file: \(problem)"
        case .unsupportedDtype(let path, let tensor, let dtype):
            return "\(path): tensor \(tensor) has dtype \(dtype), which this loader cannot read "
                + "(supported: \(Self.supportedDtypes.joined(separator: ", ")))"
        case .missingShard(let path, let shard, let tensor):
            return "\(path): weight_map sends \(tensor) to shard \(shard), which does not exist"
        case .missingTensor(let path, let tensor):
            return "\(path): required tensor \(tensor) is missing"
        case .tensorShape(let path, let tensor, let expected, let found):
            return "\(path): tensor \(tensor) has shape \(found), expected \(expected) from config.json"
        case .invalidField(let path, let field, let problem):
            return "\(path): field \(field): \(problem)"
        case .unsupportedValue(let path, let field, let value, let supported):
            let suggestion = closestMatches(to: value, among: supported).first.map { " (did you mean \"\($0)\"?)" } ?? ""
            return "\(path): field \(field) is \"\(value)\", which is not supported\(suggestion); "
                + "supported: \(supported.joined(separator: ", "))"
        }
    }
}
