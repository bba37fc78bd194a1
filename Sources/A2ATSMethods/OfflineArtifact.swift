import Foundation
import A2ATSModel
import A2ATSSupport

/// Side data a method builds offline, once per model, from the calibration forward pass (Double
/// Sparsity's outlier channels, InfiniGen's skew matrices): named Float32 tensors plus the integer
/// settings they were built with. It travels the same way as A²ATS codebooks — the harness's
/// codebook store loads `<codebooks dir>/<request.fileName>` or calibrates and saves it — but in a
/// format of its own, so the codebook format stays as it is.
public struct OfflineArtifact: Equatable {
    /// What built it (`doublesparsity`, `infinigen`); also the start of the file name.
    public var kind: String
    /// First 16 hex digits of the model's sha256.
    public var modelFingerprint: String
    public var shape: ArtifactShape
    /// Settings the builder used (calibration tokens, channel ratio): part of the file name and checked on load.
    public var settings: [String: Int]
    /// Named tensors, flattened row-major; integer data (channel indices) is stored as exact Float32.
    public var tensors: [String: [Float]]
    /// Calibration facts for the manifest (text, tokens, seconds); not part of the binary file.
    public var metadata: JSONObject

    public init(kind: String, modelFingerprint: String, shape: ArtifactShape, settings: [String: Int],
                tensors: [String: [Float]], metadata: JSONObject = [:]) {
        self.kind = kind
        self.modelFingerprint = modelFingerprint
        self.shape = shape
        self.settings = settings
        self.tensors = tensors
        self.metadata = metadata
    }

    public static func == (a: OfflineArtifact, b: OfflineArtifact) -> Bool {
        a.kind == b.kind && a.modelFingerprint == b.modelFingerprint && a.shape == b.shape && a.settings == b.settings
            && a.tensors == b.tensors
    }

    /// The tensor `name` with exactly `count` values, or an error naming the file's field.
    public func tensor(_ name: String, count: Int) throws -> [Float] {
        guard let values = tensors[name] else { throw OfflineArtifactError.missingTensor(kind: kind, name: name) }
        guard values.count == count else {
            throw OfflineArtifactError.badTensor(kind: kind, name: name, problem: "\(values.count) values, expected \(count)")
        }
        return values
    }

    /// Integer data of tensor `name`: each value must be a whole number in `range`.
    public func indices(_ name: String, count: Int, in range: Range<Int>) throws -> [Int] {
        try tensor(name, count: count).map { value in
            guard value.rounded() == value, range.contains(Int(value)) else {
                throw OfflineArtifactError.badTensor(kind: kind, name: name, problem: "value \(value) is not an index in \(range)")
            }
            return Int(value)
        }
    }
}

/// The model shape an artifact was built for.
public struct ArtifactShape: Equatable, Sendable {
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int

    public init(layers: Int, heads: Int, kvHeads: Int, headDim: Int) {
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
    }

    public init(_ model: ModelConfig) {
        self.init(layers: model.layerCount, heads: model.headCount, kvHeads: model.kvHeadCount, headDim: model.headDim)
    }
}

/// What a method asks its `MethodResources` for: an artifact of one kind and settings, and how to
/// build it from calibration activations when no saved file fits.
public struct ArtifactRequest {
    public let kind: String
    public let settings: [String: Int]
    /// Calibration tokens the builder wants (the harness runs that many through the model).
    public let calibrationTokens: Int
    /// Builds the tensors; `samples(layer)` gives one `CalibrationSamples` per KV head of that layer,
    /// post-RoPE queries and keys, `keyRows` pairing each sampled query token with its key.
    public let build: (_ shape: ArtifactShape, _ samples: (_ layer: Int) throws -> [CalibrationSamples]) throws -> [String: [Float]]

    public init(kind: String, settings: [String: Int], calibrationTokens: Int,
                build: @escaping (_ shape: ArtifactShape, _ samples: (_ layer: Int) throws -> [CalibrationSamples]) throws -> [String: [Float]]) {
        precondition(kind.utf8.count <= OfflineArtifactFile.nameBytes && !kind.contains("-"), "artifact kind \(kind)")
        self.kind = kind
        self.settings = settings.merging(["tokens": calibrationTokens]) { a, _ in a }
        self.calibrationTokens = calibrationTokens
        self.build = build
    }

    /// `doublesparsity-tokens16384.a2oa`: kind, then every setting in name order.
    public var fileName: String {
        ([kind] + settings.keys.sorted().map { "\($0)\(settings[$0]!)" }).joined(separator: "-") + ".a2oa"
    }
}

/// Errors of offline artifacts: absent source, corrupt or mismatched files, bad content.
public enum OfflineArtifactError: Error, Equatable, CustomStringConvertible {
    /// Built without a source of offline artifacts (the harness supplies one per model).
    case noSource(kind: String)
    /// Not an artifact file, truncated, or its checksum does not match.
    case corrupt(file: String, problem: String)
    /// Made for another model, shape, kind or settings.
    case mismatch(file: String, field: String, expected: String, found: String)
    case cannotWrite(file: String, problem: String)
    case missingTensor(kind: String, name: String)
    case badTensor(kind: String, name: String, problem: String)

    public var description: String {
        switch self {
        case let .noSource(kind):
            return "\(kind) needs offline calibration data, but no source was given for this model"
        case let .corrupt(file, problem):
            return "\(file): not a valid offline artifact file: \(problem)"
        case let .mismatch(file, field, expected, found):
            return "\(file): artifact \(field) is \(found), expected \(expected) (delete it to recalibrate)"
        case let .cannotWrite(file, problem):
            return "\(file): cannot write offline artifact: \(problem)"
        case let .missingTensor(kind, name):
            return "\(kind) artifact: tensor \"\(name)\" is missing"
        case let .badTensor(kind, name, problem):
            return "\(kind) artifact: tensor \"\(name)\": \(problem)"
        }
    }
}

/// The binary artifact format, little-endian:
///
///     0  magic "A2OFFAR1"   8 version UInt32 (1)   12 settings count UInt32   16 tensor count UInt32
///     20 layers  24 heads  28 kvHeads  32 headDim (UInt32 each)
///     36 model sha256, first 16 hex digits (ASCII)   52 kind (32 bytes ASCII, zero-padded)
///     84 reserved UInt32   88 FNV-1a 64 checksum of everything after the header
///     96 settings: name (32 bytes) + value Int64, in name order;
///        tensors: name (32 bytes) + count UInt64 + count × Float32, in name order
///
/// A JSON manifest (`<name>.manifest.json`) beside it repeats the header and carries the
/// calibration facts.
public enum OfflineArtifactFile {
    static let magic = Array("A2OFFAR1".utf8)
    static let version: UInt32 = 1
    static let headerSize = 96
    static let nameBytes = 32

    public static func manifestPath(for path: String) -> String {
        (path.hasSuffix(".a2oa") ? String(path.dropLast(5)) : path) + ".manifest.json"
    }

    public static func write(_ artifact: OfflineArtifact, to path: String) throws {
        var body = Data()
        for name in artifact.settings.keys.sorted() {
            appendName(name, to: &body)
            appendInteger(Int64(artifact.settings[name]!), to: &body)
        }
        for name in artifact.tensors.keys.sorted() {
            let values = artifact.tensors[name]!
            appendName(name, to: &body)
            appendInteger(UInt64(values.count), to: &body)
            for value in values { appendInteger(value.bitPattern, to: &body) }
        }
        var header = Data(magic)
        let s = artifact.shape
        for value in [Int(version), artifact.settings.count, artifact.tensors.count, s.layers, s.heads, s.kvHeads, s.headDim] {
            appendInteger(UInt32(value), to: &header)
        }
        var fingerprint = Array(artifact.modelFingerprint.utf8.prefix(16))
        fingerprint += [UInt8](repeating: 0, count: 16 - fingerprint.count)
        header.append(contentsOf: fingerprint)
        appendName(artifact.kind, to: &header)
        appendInteger(UInt32(0), to: &header)
        appendInteger(CodebookFile.checksum(body), to: &header)
        do {
            try AtomicFile.write(header + body, to: path)
            try AtomicFile.write(manifest(for: artifact).prettyText + "\n", to: manifestPath(for: path))
        } catch {
            throw OfflineArtifactError.cannotWrite(file: path, problem: "\(error)")
        }
    }

    /// Reads and checks a file: header, size, checksum, then `expected`'s model, shape, kind and settings.
    public static func read(from path: String, expecting expected: OfflineArtifact? = nil) throws -> OfflineArtifact {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw OfflineArtifactError.corrupt(file: path, problem: "cannot read the file")
        }
        func corrupt(_ problem: String) -> OfflineArtifactError { .corrupt(file: path, problem: problem) }
        guard data.count >= headerSize else { throw corrupt("shorter than the \(headerSize)-byte header") }
        let bytes = [UInt8](data)
        guard Array(bytes[0 ..< 8]) == magic else { throw corrupt("wrong magic number") }
        func integer(_ at: Int, _ size: Int) -> UInt64 { bytes[at ..< at + size].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        func name(_ at: Int, _ size: Int) -> String { String(decoding: bytes[at ..< at + size].prefix { $0 != 0 }, as: UTF8.self) }
        let fileVersion = integer(8, 4)
        guard fileVersion == UInt64(version) else { throw corrupt("format version \(fileVersion), this build reads \(version)") }
        let settingCount = Int(integer(12, 4)), tensorCount = Int(integer(16, 4))
        let shape = ArtifactShape(layers: Int(integer(20, 4)), heads: Int(integer(24, 4)), kvHeads: Int(integer(28, 4)),
                                  headDim: Int(integer(32, 4)))
        let fingerprint = name(36, 16), kind = name(52, nameBytes)
        guard CodebookFile.checksum(data.subdata(in: headerSize ..< data.count)) == integer(88, 8) else {
            throw corrupt("checksum mismatch (file damaged or truncated)")
        }
        var at = headerSize
        func need(_ count: Int, _ what: String) throws {
            // `count` comes from the file: compare it with what is left rather than add it to `at`.
            guard count >= 0, count <= bytes.count - at else { throw corrupt("truncated in \(what) at offset \(at)") }
        }
        var settings: [String: Int] = [:]
        for _ in 0 ..< settingCount {
            try need(nameBytes + 8, "settings")
            let setting = name(at, nameBytes)
            guard settings.updateValue(Int(Int64(bitPattern: integer(at + nameBytes, 8))), forKey: setting) == nil else {
                throw corrupt("setting \"\(setting)\" appears twice (offset \(at))")
            }
            at += nameBytes + 8
        }
        var tensors: [String: [Float]] = [:]
        for _ in 0 ..< tensorCount {
            try need(nameBytes + 8, "tensor header")
            let tensorName = name(at, nameBytes), count = Int(clamping: integer(at + nameBytes, 8))
            at += nameBytes + 8
            try need(count.multipliedReportingOverflow(by: 4).overflow ? -1 : count * 4, "tensor \"\(tensorName)\"")
            guard tensors[tensorName] == nil else { throw corrupt("tensor \"\(tensorName)\" appears twice (offset \(at - nameBytes - 8))") }
            tensors[tensorName] = (0 ..< count).map { Float(bitPattern: UInt32(integer(at + 4 * $0, 4))) }
            at += count * 4
        }
        guard at == bytes.count else { throw corrupt("\(bytes.count - at) bytes after the last tensor") }
        let artifact = OfflineArtifact(kind: kind, modelFingerprint: fingerprint, shape: shape, settings: settings, tensors: tensors,
                                       metadata: manifestCalibration(path))
        if let expected {
            func check(_ field: String, _ want: String, _ found: String) throws {
                if want != found { throw OfflineArtifactError.mismatch(file: path, field: field, expected: want, found: found) }
            }
            try check("kind", expected.kind, kind)
            try check("model sha256 prefix", expected.modelFingerprint, fingerprint)
            try check("layer count", String(expected.shape.layers), String(shape.layers))
            try check("query head count", String(expected.shape.heads), String(shape.heads))
            try check("KV head count", String(expected.shape.kvHeads), String(shape.kvHeads))
            try check("head dimension", String(expected.shape.headDim), String(shape.headDim))
            for key in Set(expected.settings.keys).union(settings.keys).sorted() {
                try check("setting \(key)", expected.settings[key].map(String.init) ?? "absent", settings[key].map(String.init) ?? "absent")
            }
        }
        return artifact
    }

    static func manifest(for artifact: OfflineArtifact) -> JSONValue {
        .object([
            "format": "a2ats-offline-artifact", "version": .int(Int(version)), "kind": .string(artifact.kind),
            "model_sha256_prefix": .string(artifact.modelFingerprint),
            "layers": .int(artifact.shape.layers), "heads": .int(artifact.shape.heads),
            "kv_heads": .int(artifact.shape.kvHeads), "head_dim": .int(artifact.shape.headDim),
            "settings": .object(JSONObject(artifact.settings.keys.sorted().map { ($0, .int(artifact.settings[$0]!)) })),
            "tensors": .object(JSONObject(artifact.tensors.keys.sorted().map { ($0, .int(artifact.tensors[$0]!.count)) })),
            "calibration": .object(artifact.metadata),
        ])
    }

    private static func manifestCalibration(_ path: String) -> JSONObject {
        guard let text = try? String(contentsOfFile: manifestPath(for: path), encoding: .utf8) else { return [:] }
        return (try? JSONValue.parse(text))?["calibration"]?.objectValue ?? [:]
    }

    private static func appendName(_ name: String, to data: inout Data) {
        var bytes = Array(name.utf8.prefix(nameBytes))
        bytes += [UInt8](repeating: 0, count: nameBytes - bytes.count)
        data.append(contentsOf: bytes)
    }

    private static func appendInteger<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }
}
