/// Reads and validates the GGUF header, metadata and tensor table from a mapped file. Every
/// read is bounds-checked and every count is checked against the bytes that remain, so a
/// corrupt file cannot make the loader allocate absurd arrays or read outside the mapping.
struct GGUFHeaderParser {
    struct Parsed {
        var version: UInt32
        var metadata: [String: GGUFValue]
        var metadataKeys: [String]
        var tensors: [String: GGUFTensorInfo]
        var tensorNames: [String]
        var alignment: Int
        var dataOffset: Int
    }

    /// ggml's GGML_MAX_DIMS.
    static let maxDims = 4
    /// Metadata arrays may not nest deeper than this (real files use depth 1).
    static let maxArrayDepth = 8

    let base: UnsafeRawPointer
    let size: Int
    let path: String
    var offset = 0

    init(base: UnsafeRawPointer, size: Int, path: String) throws {
        self.base = base
        self.size = size
        self.path = path
    }

    mutating func parse() throws -> Parsed {
        let magic = try read(UInt32.self, "magic")
        guard magic == 0x4655_4747 else {  // "GGUF" little-endian
            let bytes = (0..<4).map { base.load(fromByteOffset: $0, as: UInt8.self) }
            let text = bytes.map { (32..<127).contains($0) ? String(UnicodeScalar($0)) : "\\x\(String($0, radix: 16))" }.joined()
            throw ModelLoadError.notGGUF(path: path, magic: "\"\(text)\"")
        }
        let version = try read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw ModelLoadError.unsupportedVersion(path: path, version: version) }
        let tensorCount = try readCount("the tensor table", minimumBytesEach: 8 + 4 + 8 + 4 + 8)
        let kvCount = try readCount("the metadata", minimumBytesEach: 8 + 4 + 1)

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(kvCount)
        for _ in 0..<kvCount {
            let key = try readString("metadata key")
            let typeID = try read(UInt32.self, "type of metadata \(key)")
            let value = try readValue(typeID: typeID, key: key, depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw ModelLoadError.malformed(path: path, problem: "duplicate metadata key \(key)")
            }
            keys.append(key)
        }

        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard let a = value.intValue, a > 0, a & (a - 1) == 0 else {
                throw ModelLoadError.invalidMetadata(path: path, key: "general.alignment",
                                                     problem: "must be a positive power of two, found \(value)")
            }
            alignment = a
        }

        struct Entry { var name: String; var type: GGMLType; var dims: [Int]; var relativeOffset: Int; var bytes: Int }
        var entries: [Entry] = []
        entries.reserveCapacity(tensorCount)
        for _ in 0..<tensorCount {
            let name = try readString("tensor name")
            let dimCount = Int(try read(UInt32.self, "dimension count of tensor \(name)"))
            guard (1...Self.maxDims).contains(dimCount) else {
                throw ModelLoadError.malformed(path: path, problem: "tensor \(name) has \(dimCount) dimensions (1 to \(Self.maxDims) allowed)")
            }
            var dims: [Int] = []
            var elements = 1
            for _ in 0..<dimCount {
                let d = try read(UInt64.self, "dimensions of tensor \(name)")
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(clamping: d))
                guard d >= 1, d <= UInt64(Int32.max), !overflow, product <= size * 256 else {
                    throw ModelLoadError.malformed(path: path, problem: "tensor \(name) has impossible dimension \(d)")
                }
                dims.append(Int(d))
                elements = product
            }
            let typeID = try read(UInt32.self, "type of tensor \(name)")
            guard let type = GGMLType(rawValue: typeID) else {
                throw ModelLoadError.unknownTensorType(path: path, tensor: name, typeID: typeID)
            }
            let layout = type.blockLayout
            guard dims[0] % layout.elements == 0 else {
                throw ModelLoadError.malformed(path: path, problem:
                    "tensor \(name) of type \(type.name) has ne0 = \(dims[0]), not a multiple of its block size \(layout.elements)")
            }
            let relative = try read(UInt64.self, "offset of tensor \(name)")
            guard relative <= UInt64(size), Int(relative) % alignment == 0 else {
                throw ModelLoadError.malformed(path: path, problem:
                    "tensor \(name) has offset \(relative), not inside the file or not a multiple of the alignment \(alignment)")
            }
            entries.append(Entry(name: name, type: type, dims: dims, relativeOffset: Int(relative),
                                 bytes: elements / layout.elements * layout.bytes))
        }

        let dataOffset = (offset + alignment - 1) / alignment * alignment
        var tensors: [String: GGUFTensorInfo] = [:]
        tensors.reserveCapacity(entries.count)
        for entry in entries {
            let start = dataOffset + entry.relativeOffset
            guard start + entry.bytes <= size else {
                throw ModelLoadError.tensorOutOfBounds(path: path, tensor: entry.name, offset: start,
                                                       size: entry.bytes, fileSize: size)
            }
            let info = GGUFTensorInfo(name: entry.name, type: entry.type, dims: entry.dims,
                                      fileOffset: start, byteCount: entry.bytes)
            guard tensors.updateValue(info, forKey: entry.name) == nil else {
                throw ModelLoadError.malformed(path: path, problem: "duplicate tensor name \(entry.name)")
            }
        }
        return Parsed(version: version, metadata: metadata, metadataKeys: keys, tensors: tensors,
                      tensorNames: entries.map(\.name), alignment: alignment, dataOffset: dataOffset)
    }

    // MARK: - Primitive reads

    private mutating func need(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, count <= size - offset else {
            throw ModelLoadError.truncated(path: path, reading: what(), offset: offset, fileSize: size)
        }
    }

    private mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let value = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    /// A u64 count that must fit in the rest of the file at `minimumBytesEach` bytes per item.
    private mutating func readCount(_ what: String, minimumBytesEach: Int) throws -> Int {
        let count = try read(UInt64.self, what)
        guard count <= UInt64(size - offset) / UInt64(minimumBytesEach) else {
            // A count the rest of the file cannot hold: either the file is cut short or the
            // count is corrupt; both read as "runs past end of file".
            throw ModelLoadError.truncated(path: path, reading: "\(count) entries of \(what)", offset: offset - 8, fileSize: size)
        }
        return Int(count)
    }

    private mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let length = try read(UInt64.self, what())
        guard length <= UInt64(size - offset) else {
            throw ModelLoadError.truncated(path: path, reading: what(), offset: offset - 8, fileSize: size)
        }
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: Int(length))
        offset += Int(length)
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func readValue(typeID: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch typeID {
        case 0: return .uint8(try read(UInt8.self, "value of \(key)"))
        case 1: return .int8(try read(Int8.self, "value of \(key)"))
        case 2: return .uint16(try read(UInt16.self, "value of \(key)"))
        case 3: return .int16(try read(Int16.self, "value of \(key)"))
        case 4: return .uint32(try read(UInt32.self, "value of \(key)"))
        case 5: return .int32(try read(Int32.self, "value of \(key)"))
        case 6: return .float32(Float(bitPattern: try read(UInt32.self, "value of \(key)")))
        case 7:
            let byte = try read(UInt8.self, "value of \(key)")
            guard byte <= 1 else {
                throw ModelLoadError.invalidMetadata(path: path, key: key, problem: "BOOL value \(byte) is neither 0 nor 1")
            }
            return .bool(byte == 1)
        case 8: return .string(try readString("value of \(key)"))
        case 9:
            guard depth < Self.maxArrayDepth else {
                throw ModelLoadError.malformed(path: path, problem: "metadata \(key) nests arrays deeper than \(Self.maxArrayDepth)")
            }
            let elementType = try read(UInt32.self, "array type of \(key)")
            guard let elementSize = Self.minimumSize(ofType: elementType) else {
                throw ModelLoadError.invalidMetadata(path: path, key: key, problem: "unknown array element type \(elementType)")
            }
            let count = try readCount("array \(key)", minimumBytesEach: elementSize)
            var items: [GGUFValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try readValue(typeID: elementType, key: key, depth: depth + 1)) }
            return .array(items)
        case 10: return .uint64(try read(UInt64.self, "value of \(key)"))
        case 11: return .int64(try read(Int64.self, "value of \(key)"))
        case 12: return .float64(Double(bitPattern: try read(UInt64.self, "value of \(key)")))
        default:
            throw ModelLoadError.invalidMetadata(path: path, key: key, problem: "unknown value type \(typeID)")
        }
    }

    /// Fewest bytes one value of GGUF type `typeID` occupies, nil for an unknown type.
    private static func minimumSize(ofType typeID: UInt32) -> Int? {
        switch typeID {
        case 0, 1, 7: return 1
        case 2, 3: return 2
        case 4, 5, 6: return 4
        case 8, 10, 11, 12: return 8
        case 9: return 4 + 8
        default: return nil
        }
    }
}
