/// Everything that can be wrong with a model file, each case naming the file and the problem,
/// so the CLI can print one clear line and exit non-zero instead of crashing on bad bytes.
public enum ModelLoadError: Error, Equatable, CustomStringConvertible {
    /// The path does not exist.
    case fileNotFound(path: String)
    /// The file exists but could not be opened or mapped (permissions, a directory, I/O error).
    case unreadable(path: String, reason: String)
    /// The first four bytes are not `GGUF`.
    case notGGUF(path: String, magic: String)
    /// GGUF versions other than 2 and 3 (v1 used 32-bit counts and is long obsolete).
    case unsupportedVersion(path: String, version: UInt32)
    /// The header, metadata or tensor table runs past the end of the file.
    case truncated(path: String, reading: String, offset: Int, fileSize: Int)
    /// A structural problem in the header (bad count, bad dimension, duplicate name, …).
    case malformed(path: String, problem: String)
    /// A tensor's type id is not one ggml defines, so its size cannot even be computed.
    case unknownTensorType(path: String, tensor: String, typeID: UInt32)
    /// A known ggml type this loader cannot dequantize.
    case unsupportedTensorType(path: String, tensor: String, type: String)
    /// A tensor's data lies (partly) outside the file.
    case tensorOutOfBounds(path: String, tensor: String, offset: Int, size: Int, fileSize: Int)
    /// A tensor the architecture needs is absent.
    case missingTensor(path: String, tensor: String)
    /// A tensor's dimensions (ggml order, ne0 first) disagree with the model config.
    case tensorShapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])
    /// `general.architecture` names a family this engine does not implement.
    case unsupportedArchitecture(path: String, architecture: String)
    /// A required metadata key is absent.
    case missingMetadata(path: String, key: String)
    /// A metadata key has a value of the wrong type or an impossible value.
    case invalidMetadata(path: String, key: String, problem: String)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .fileNotFound(let path), .unreadable(let path, _), .notGGUF(let path, _),
             .unsupportedVersion(let path, _), .truncated(let path, _, _, _), .malformed(let path, _),
             .unknownTensorType(let path, _, _), .unsupportedTensorType(let path, _, _),
             .tensorOutOfBounds(let path, _, _, _, _), .missingTensor(let path, _),
             .tensorShapeMismatch(let path, _, _, _), .unsupportedArchitecture(let path, _),
             .missingMetadata(let path, _), .invalidMetadata(let path, _, _):
            return path
        }
    }

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): model file not found"
        case .unreadable(let path, let reason):
            return "\(path): cannot read model file: \(reason)"
        case .notGGUF(let path, let magic):
            return "\(path): not a GGUF file (magic \(magic), expected \"GGUF\")"
        case .unsupportedVersion(let path, let version):
            return "\(path): unsupported GGUF version \(version) (supported: 2, 3)"
        case .truncated(let path, let reading, let offset, let fileSize):
            return "\(path): file is truncated: \(reading) at offset \(offset) runs past end of file (\(fileSize) bytes)"
        case .malformed(let path, let problem):
            return "\(path): malformed GGUF header: \(problem)"
        case .unknownTensorType(let path, let tensor, let typeID):
            return "\(path): tensor \(tensor) has unknown ggml type id \(typeID)"
        case .unsupportedTensorType(let path, let tensor, let type):
            return "\(path): tensor \(tensor) has type \(type), which this loader cannot dequantize "
                + "(supported: \(GGMLType.dequantizable.map(\.name).joined(separator: ", ")))"
        case .tensorOutOfBounds(let path, let tensor, let offset, let size, let fileSize):
            return "\(path): tensor \(tensor) extends past end of file (offset \(offset), size \(size), file \(fileSize))"
        case .missingTensor(let path, let tensor):
            return "\(path): required tensor \(tensor) is missing"
        case .tensorShapeMismatch(let path, let tensor, let expected, let found):
            return "\(path): tensor \(tensor) has dims \(found), expected \(expected) from the model metadata"
        case .unsupportedArchitecture(let path, let architecture):
            return "\(path): unsupported architecture \"\(architecture)\" (supported: \(GGUFModelSource.supportedArchitectures.joined(separator: ", ")))"
        case .missingMetadata(let path, let key):
            return "\(path): required metadata key \(key) is missing"
        case .invalidMetadata(let path, let key, let problem):
            return "\(path): metadata key \(key): \(problem)"
        }
    }
}
