/// Typed access to GGUF metadata that turns a missing or ill-typed key into a `ModelLoadError`
/// naming the file and the key.
struct MetadataReader {
    let file: GGUFFile

    private func invalid(_ key: String, _ expected: String, _ value: GGUFValue) -> ModelLoadError {
        .invalidMetadata(path: file.path, key: key, problem: "expected \(expected), found \(value.typeName)")
    }

    private func required(_ key: String) throws -> GGUFValue {
        guard let value = file.metadata[key] else { throw ModelLoadError.missingMetadata(path: file.path, key: key) }
        return value
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = file.metadata[key] else { return nil }
        guard let s = value.stringValue else { throw invalid(key, "a string", value) }
        return s
    }

    func string(_ key: String) throws -> String {
        guard let s = try optionalString(key) else { throw ModelLoadError.missingMetadata(path: file.path, key: key) }
        return s
    }

    func optionalStrings(_ key: String) throws -> [String]? {
        guard let value = file.metadata[key] else { return nil }
        guard let s = value.stringArray else { throw invalid(key, "an array of strings", value) }
        return s
    }

    func strings(_ key: String) throws -> [String] {
        guard let s = try optionalStrings(key) else { throw ModelLoadError.missingMetadata(path: file.path, key: key) }
        return s
    }

    func optionalInts(_ key: String) throws -> [Int]? {
        guard let value = file.metadata[key] else { return nil }
        guard let s = value.intArray else { throw invalid(key, "an array of integers", value) }
        return s
    }

    func optionalPositiveInt(_ key: String) throws -> Int? {
        guard let value = file.metadata[key] else { return nil }
        guard let v = value.intValue else { throw invalid(key, "an integer", value) }
        guard v > 0 else { throw ModelLoadError.invalidMetadata(path: file.path, key: key, problem: "must be positive, found \(v)") }
        return v
    }

    func positiveInt(_ key: String) throws -> Int {
        _ = try required(key)
        return try optionalPositiveInt(key)!
    }

    func optionalFloat(_ key: String) throws -> Float? {
        guard let value = file.metadata[key] else { return nil }
        guard let v = value.floatValue, v.isFinite else { throw invalid(key, "a finite number", value) }
        return v
    }

    func float(_ key: String) throws -> Float {
        _ = try required(key)
        return try optionalFloat(key)!
    }

    func optionalBool(_ key: String) throws -> Bool? {
        guard let value = file.metadata[key] else { return nil }
        guard let v = value.boolValue else { throw invalid(key, "a bool", value) }
        return v
    }

    func optionalTokenID(_ key: String, vocabSize: Int) throws -> Int? {
        guard let value = file.metadata[key] else { return nil }
        guard let v = value.intValue else { throw invalid(key, "an integer", value) }
        guard (0..<vocabSize).contains(v) else {
            throw ModelLoadError.invalidMetadata(path: file.path, key: key, problem: "token id \(v) is outside the vocabulary (\(vocabSize) tokens)")
        }
        return v
    }

    /// `<arch>.rope.scaling.*`: none and linear are supported; other kinds are refused rather
    /// than silently ignored.
    func ropeScaling(prefix p: String) throws -> RoPEScaling? {
        let kind = try optionalString(p + "rope.scaling.type") ?? "none"
        let factor = try optionalFloat(p + "rope.scaling.factor") ?? 0
        switch kind {
        case "none":
            return nil
        case "linear":
            guard factor > 0 else {
                throw ModelLoadError.invalidMetadata(path: file.path, key: p + "rope.scaling.factor",
                                                     problem: "linear RoPE scaling needs a positive factor")
            }
            if factor == 1 { return nil }
            return RoPEScaling(kind: .linear, factor: factor,
                               originalContextLength: try optionalPositiveInt(p + "rope.scaling.original_context_length"))
        default:
            throw ModelLoadError.invalidMetadata(path: file.path, key: p + "rope.scaling.type",
                                                 problem: "RoPE scaling \"\(kind)\" is not supported (none, linear)")
        }
    }
}
