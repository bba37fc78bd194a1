#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where one tensor lives in a GGUF file.
public struct GGUFTensorInfo: Equatable, Sendable {
    public let name: String
    public let type: GGMLType
    /// ggml order: `dims[0]` (ne0) is the fastest-varying, so a matrix with `dims == [in, out]`
    /// is `out` rows of `in` floats.
    public let dims: [Int]
    /// Byte offset from the start of the file (data section offset + the table's relative offset).
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { dims.reduce(1, *) }
}

/// A GGUF (v2/v3) model file, memory-mapped, with its header fully validated on open so that a
/// truncated or lying file fails here with a clear `ModelLoadError` rather than crashing later.
/// Layout reference: ggml's `docs/gguf.md`.
public final class GGUFFile {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order (the dictionary loses it).
    public let metadataKeys: [String]
    public let tensors: [String: GGUFTensorInfo]
    /// Tensor names in file order.
    public let tensorNames: [String]
    /// `general.alignment`, 32 when absent.
    public let alignment: Int
    /// Start of the tensor data section.
    public let dataOffset: Int
    public let fileSize: Int

    private let base: UnsafeRawPointer
    private let mappedSize: Int

    public init(path: String) throws {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw ModelLoadError.fileNotFound(path: path) }
            throw ModelLoadError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ModelLoadError.unreadable(path: path, reason: "not a regular file")
        }
        let size = Int(info.st_size)
        guard size >= 24 else {
            throw ModelLoadError.truncated(path: path, reading: "header", offset: 0, fileSize: size)
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ModelLoadError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else {
            throw ModelLoadError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapping)
        mappedSize = size
        fileSize = size
        do {
            var header = try GGUFHeaderParser(base: base, size: size, path: path)
            let parsed = try header.parse()
            version = parsed.version
            metadata = parsed.metadata
            metadataKeys = parsed.metadataKeys
            tensors = parsed.tensors
            tensorNames = parsed.tensorNames
            alignment = parsed.alignment
            dataOffset = parsed.dataOffset
        } catch {
            munmap(UnsafeMutableRawPointer(mutating: base), mappedSize)
            throw error
        }
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), mappedSize)
    }

    /// The tensor `name` dequantized to f32, `dims[0]` fastest (row-major `[dims[1]][dims[0]]` for a matrix).
    public func floats(_ name: String) throws -> [Float] {
        guard let info = tensors[name] else { throw ModelLoadError.missingTensor(path: path, tensor: name) }
        guard info.type.isDequantizable else {
            throw ModelLoadError.unsupportedTensorType(path: path, tensor: name, type: info.type.name)
        }
        let count = info.elementCount
        let source = base + info.fileOffset
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            Dequantize.convert(info.type, from: source, count: count, into: buffer.baseAddress!)
            initialized = count
        }
    }

    /// The raw bytes of tensor `name` (valid while this object lives), for loaders that keep
    /// weights compact.
    public func rawBytes(_ name: String) -> UnsafeRawBufferPointer? {
        guard let info = tensors[name] else { return nil }
        return UnsafeRawBufferPointer(start: base + info.fileOffset, count: info.byteCount)
    }
}
