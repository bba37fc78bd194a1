#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import A2ATSSupport

/// One tensor of a safetensors file.
public struct SafetensorsTensor: Equatable, Sendable {
    public let name: String
    /// As the file spells it: `F32`, `F16`, `BF16`, `I8`, ….
    public let dtype: String
    /// Slowest dimension first (PyTorch order): a linear layer's weight is `[out, in]`.
    public let shape: [Int]
    /// Byte offset from the start of the file, and length.
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file (8-byte little-endian header length, a JSON header, then raw little-endian
/// tensor data), memory-mapped. The header is parsed with json-c and checked whole on open —
/// every tensor's offsets inside the data section, its byte count equal to shape × dtype size,
/// no two tensors overlapping — so a truncated or lying file fails here, not in the forward pass.
/// Format reference: huggingface/safetensors `README.md` ("Format").
public final class SafetensorsFile {
    public let path: String
    public let tensors: [String: SafetensorsTensor]
    /// Tensor names in header order.
    public let tensorNames: [String]
    public let fileSize: Int

    private let base: UnsafeRawPointer
    private let mappedSize: Int

    /// Bytes per element of every dtype the format defines (so any valid file's offsets can be
    /// checked, even for tensors this loader would not read).
    static let dtypeSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
    ]

    public init(path: String) throws {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CheckpointError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError.unreadable(path: path, reason: "not a regular file")
        }
        let size = Int(info.st_size)
        guard size >= 8 else {
            throw CheckpointError.malformedSafetensors(path: path, problem: "file is \(size) bytes, shorter than the 8-byte header length")
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw CheckpointError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else {
            throw CheckpointError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapping)
        mappedSize = size
        fileSize = size
        do {
            (tensors, tensorNames) = try Self.parseHeader(base: base, size: size, path: path)
        } catch {
            munmap(mapping, size)
            throw error
        }
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), mappedSize)
    }

    private static func parseHeader(base: UnsafeRawPointer, size: Int, path: String) throws
        -> ([String: SafetensorsTensor], [String]) {
        func fail(_ problem: String) -> CheckpointError { .malformedSafetensors(path: path, problem: problem) }
        let headerLength = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(size - 8) else {
            throw fail("header length \(headerLength) runs past the end of the file (\(size) bytes): truncated?")
        }
        let dataStart = 8 + Int(headerLength), dataSize = size - dataStart
        let header: JSONValue
        do {
            header = try JSONValue.parse(bytes: UnsafeRawBufferPointer(start: base + 8, count: Int(headerLength)))
        } catch {
            throw fail("header is not valid JSON (\(error))")
        }
        guard let object = header.objectValue else { throw fail("header is a JSON \(header.typeName), not an object") }
        var tensors: [String: SafetensorsTensor] = [:], names: [String] = []
        for (name, entry) in object where name != "__metadata__" {
            guard let dtype = entry["dtype"]?.stringValue else { throw fail("tensor \(name) has no string dtype") }
            guard let elementSize = dtypeSizes[dtype] else {
                throw fail("tensor \(name) has unknown dtype \(dtype)")
            }
            guard let shape = entry["shape"]?.arrayValue?.compactMap(\.intValue),
                  shape.count == entry["shape"]?.arrayValue?.count, shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor \(name) has no shape of non-negative integers")
            }
            guard let offsets = entry["data_offsets"]?.arrayValue?.compactMap(\.intValue), offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw fail("tensor \(name) has no data_offsets [begin, end] with 0 ≤ begin ≤ end")
            }
            guard offsets[1] <= dataSize else {
                throw fail("tensor \(name) data_offsets \(offsets) run past the end of the data (\(dataSize) bytes): truncated?")
            }
            // Element count and byte count both overflow-checked: a made-up shape must not trap.
            let (count, overflow) = shape.reduce((elementSize, false)) { partial, d in
                let product = partial.0.multipliedReportingOverflow(by: d)
                return (product.partialValue, partial.1 || product.overflow)
            }
            guard !overflow, count == offsets[1] - offsets[0] else {
                throw fail("tensor \(name) spans \(offsets[1] - offsets[0]) bytes but shape \(shape) of \(dtype) needs "
                    + "\(overflow ? "more than Int.max" : String(count))")
            }
            tensors[name] = SafetensorsTensor(name: name, dtype: dtype, shape: shape, fileOffset: dataStart + offsets[0],
                                              byteCount: offsets[1] - offsets[0])
            names.append(name)
        }
        let byStart = tensors.values.filter { $0.byteCount > 0 }.sorted { $0.fileOffset < $1.fileOffset }
        for (previous, next) in zip(byStart, byStart.dropFirst()) where next.fileOffset < previous.fileOffset + previous.byteCount {
            throw fail("tensors \(previous.name) and \(next.name) overlap (data_offsets lie)")
        }
        return (tensors, names)
    }

    /// The raw bytes of tensor `name` (valid while this object lives).
    public func rawBytes(_ name: String) -> UnsafeRawBufferPointer? {
        guard let info = tensors[name] else { return nil }
        return UnsafeRawBufferPointer(start: base + info.fileOffset, count: info.byteCount)
    }

    /// Tensor `name` as f32, row-major in its stored shape.
    public func floats(_ name: String) throws -> [Float] {
        guard let info = tensors[name], let bytes = rawBytes(name) else {
            throw CheckpointError.missingTensor(path: path, tensor: name)
        }
        let count = info.elementCount
        switch info.dtype {
        case "F32":
            return (0..<count).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        case "F16":
            return (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
        case "BF16":
            return (0..<count).map { Float(bitPattern: UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16) }
        default:
            throw CheckpointError.unsupportedDtype(path: path, tensor: name, dtype: info.dtype)
        }
    }
}
