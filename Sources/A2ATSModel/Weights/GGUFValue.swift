/// One GGUF metadata value, with the exact on-disk type kept so that nothing is lost; the
/// accessors below give the loose views (any integer as `Int`, any float as `Double`) that
/// model loading needs, since writers disagree on e.g. UINT32 vs INT32 for the same key.
public enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array([GGUFValue])

    /// Any integer type as `Int` (nil for other types, or a UINT64 beyond `Int.max`).
    public var intValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// A float, or an integer read as a float (some writers store e.g. `rope.freq_base` as an integer).
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return intValue.map(Double.init)
        }
    }

    public var floatValue: Float? { doubleValue.map(Float.init) }

    public var boolValue: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    public var stringValue: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    public var arrayValue: [GGUFValue]? {
        if case .array(let v) = self { return v }
        return nil
    }

    /// An array whose every element is a string.
    public var stringArray: [String]? {
        guard let items = arrayValue else { return nil }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard case .string(let s) = item else { return nil }
            out.append(s)
        }
        return out
    }

    /// An array whose every element is an integer.
    public var intArray: [Int]? {
        guard let items = arrayValue else { return nil }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let v = item.intValue else { return nil }
            out.append(v)
        }
        return out
    }

    /// An array whose every element is a number.
    public var floatArray: [Float]? {
        guard let items = arrayValue else { return nil }
        var out: [Float] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let v = item.floatValue else { return nil }
            out.append(v)
        }
        return out
    }

    /// The GGUF type name, for error messages.
    public var typeName: String {
        switch self {
        case .uint8: return "UINT8"
        case .int8: return "INT8"
        case .uint16: return "UINT16"
        case .int16: return "INT16"
        case .uint32: return "UINT32"
        case .int32: return "INT32"
        case .uint64: return "UINT64"
        case .int64: return "INT64"
        case .float32: return "FLOAT32"
        case .float64: return "FLOAT64"
        case .bool: return "BOOL"
        case .string: return "STRING"
        case .array(let items): return "ARRAY[\(items.first?.typeName ?? "empty")]"
        }
    }
}
