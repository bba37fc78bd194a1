import Foundation
import A2ATSSupport

/// What a loaded codebook file must match; nil fields are not checked.
public struct CodebookExpectation: Sendable {
    public var modelFingerprint: String?
    public var layerCount: Int?
    public var kvHeadCount: Int?
    public var headDim: Int?
    public var configuration: CodebookConfiguration?
    /// The first layer the file holds (resumable calibration writes one file per layer).
    public var firstLayer: Int

    public init(modelFingerprint: String? = nil, layerCount: Int? = nil, kvHeadCount: Int? = nil, headDim: Int? = nil,
                configuration: CodebookConfiguration? = nil, firstLayer: Int = 0) {
        self.modelFingerprint = modelFingerprint
        self.layerCount = layerCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.configuration = configuration
        self.firstLayer = firstLayer
    }
}

/// The binary codebook format, little-endian:
///
///     0  magic "A2ATSCB1"        8  version UInt32 (1)     12 flags UInt32 (bit 0 wrope, bit 1 query-aware)
///     16 model sha256, first 16 hex digits (ASCII)
///     32 layers  36 kvHeads  40 headDim  44 centroids  48 wrope b  52 first layer   (UInt32 each)
///     56 FNV-1a 64 checksum of everything after the header
///     64 per (layer, KV head): L (headDim² Float32), centroids (C × headDim Float32),
///        iterations UInt32, converged UInt32, objective Float64
///
/// A JSON manifest (`<name>.manifest.json`) beside it repeats the header for people and carries
/// the calibration facts (`CodebookSet.metadata`) and per-codebook statistics.
public enum CodebookFile {
    static let magic = Array("A2ATSCB1".utf8)
    static let version: UInt32 = 1
    static let headerSize = 64

    public static func manifestPath(for path: String) -> String {
        (path.hasSuffix(".a2cb") ? String(path.dropLast(5)) : path) + ".manifest.json"
    }

    public static func write(_ set: CodebookSet, to path: String, firstLayer: Int = 0) throws {
        var body = Data()
        for layer in 0 ..< set.layerCount {
            for head in 0 ..< set.kvHeadCount {
                let book = set.codebook(layer: layer, kvHead: head)
                book.cholesky.withUnsafeBytes { body.append(contentsOf: $0) }
                book.centroids.withUnsafeBytes { body.append(contentsOf: $0) }
                let stats = set.statistics.isEmpty ? CodebookStatistics(iterations: 0, objective: 0, converged: false)
                                                   : set.statistics[layer][head]
                appendInteger(UInt32(stats.iterations), to: &body)
                appendInteger(UInt32(stats.converged ? 1 : 0), to: &body)
                appendInteger(stats.objective.bitPattern, to: &body)
            }
        }
        var header = Data(magic)
        appendInteger(version, to: &header)
        appendInteger(UInt32((set.configuration.wrope ? 1 : 0) | (set.configuration.queryAware ? 2 : 0)), to: &header)
        var fingerprint = Array(set.modelFingerprint.utf8.prefix(16))
        fingerprint += [UInt8](repeating: 0, count: 16 - fingerprint.count)
        header.append(contentsOf: fingerprint)
        for value in [set.layerCount, set.kvHeadCount, set.headDim, set.configuration.centroids,
                      set.configuration.wropeOffset, firstLayer] {
            appendInteger(UInt32(value), to: &header)
        }
        appendInteger(checksum(body), to: &header)
        do {
            let temporary = path + ".tmp"
            try (header + body).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else { throw A2ATSError.cannotWrite(file: path, problem: "rename failed") }
            try AtomicFile.write(manifest(for: set, firstLayer: firstLayer).prettyText + "\n", to: manifestPath(for: path))
        } catch {
            throw A2ATSError.cannotWrite(file: path, problem: "\(error)")
        }
    }

    public static func read(from path: String, expecting expected: CodebookExpectation = CodebookExpectation()) throws -> CodebookSet {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw A2ATSError.corruptCodebook(file: path, problem: "cannot read the file")
        }
        func corrupt(_ problem: String) -> A2ATSError { .corruptCodebook(file: path, problem: problem) }
        guard data.count >= headerSize else { throw corrupt("shorter than the \(headerSize)-byte header") }
        let bytes = [UInt8](data)
        guard Array(bytes[0 ..< 8]) == magic else { throw corrupt("wrong magic number") }
        func u32(_ at: Int) -> Int { Int(bytes[at ..< at + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
        let fileVersion = u32(8)
        guard fileVersion == Int(version) else { throw corrupt("format version \(fileVersion), this build reads \(version)") }
        let flags = u32(12)
        let fingerprint = String(decoding: bytes[16 ..< 32].prefix { $0 != 0 }, as: UTF8.self)
        let (layers, heads, dim, centroids, offset, firstLayer) = (u32(32), u32(36), u32(40), u32(44), u32(48), u32(52))
        let storedSum = bytes[56 ..< 64].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard layers > 0, heads > 0, dim > 0, centroids > 0 else {
            throw corrupt("header at offset 32 gives a zero count (\(layers) layers, \(heads) heads, head dimension \(dim), \(centroids) centroids)")
        }
        guard centroids <= Int(UInt16.max) + 1 else {
            throw corrupt("header field centroids (offset 44) is \(centroids); at most 65536 (codes are 16-bit)")
        }
        // Header counts are multiplied with overflow checks: a lying header must not wrap round
        // to the file's real size and send the reads below past the end of the data.
        let (floatsPerBook, o1) = dim.multipliedReportingOverflow(by: dim + centroids)
        let (floatBytes, o2) = floatsPerBook.multipliedReportingOverflow(by: 4)
        let (perBook, o3) = floatBytes.addingReportingOverflow(16)
        let (bookCount, o4) = layers.multipliedReportingOverflow(by: heads)
        let (bodySize, o5) = bookCount.multipliedReportingOverflow(by: perBook)
        guard !(o1 || o2 || o3 || o4 || o5), bodySize == data.count - headerSize else {
            throw corrupt("size \(data.count) bytes does not match its header (\(layers) layers × \(heads) heads × "
                + "\(o1 || o2 || o3 ? "more than \(Int.max)" : String(perBook)) bytes)")
        }
        let body = data.subdata(in: headerSize ..< data.count)
        guard checksum(body) == storedSum else { throw corrupt("checksum mismatch (file damaged or truncated)") }
        let configuration = CodebookConfiguration(centroids: centroids, wrope: flags & 1 != 0, wropeOffset: offset,
                                                  queryAware: flags & 2 != 0)
        func check(_ field: String, _ want: String?, _ found: String) throws {
            if let want, want != found {
                throw A2ATSError.codebookMismatch(file: path, field: field, expected: want, found: found)
            }
        }
        try check("model sha256 prefix", expected.modelFingerprint, fingerprint)
        try check("layer count", expected.layerCount.map(String.init), String(layers))
        try check("KV head count", expected.kvHeadCount.map(String.init), String(heads))
        try check("head dimension", expected.headDim.map(String.init), String(dim))
        try check("first layer", String(expected.firstLayer), String(firstLayer))
        try check("configuration", expected.configuration.map { "\($0)" }, "\(configuration)")
        var books: [[Codebook]] = []
        var stats: [[CodebookStatistics]] = []
        body.withUnsafeBytes { raw in
            var at = 0
            func floats(_ count: Int) -> [Float] {
                defer { at += count * 4 }
                return (0 ..< count).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: at + $0 * 4, as: UInt32.self)) }
            }
            for _ in 0 ..< layers {
                var layerBooks: [Codebook] = [], layerStats: [CodebookStatistics] = []
                for _ in 0 ..< heads {
                    let l = floats(dim * dim)
                    let c = floats(centroids * dim)
                    let iterations = Int(raw.loadUnaligned(fromByteOffset: at, as: UInt32.self))
                    let converged = raw.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self) != 0
                    let objective = Double(bitPattern: raw.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self))
                    at += 16
                    layerBooks.append(Codebook(centroids: c, cholesky: l, centroidCount: centroids, headDim: dim))
                    layerStats.append(CodebookStatistics(iterations: iterations, objective: objective, converged: converged))
                }
                books.append(layerBooks)
                stats.append(layerStats)
            }
        }
        var metadata = JSONObject()
        if let text = try? String(contentsOfFile: manifestPath(for: path), encoding: .utf8),
           let calibration = (try? JSONValue.parse(text))?["calibration"]?.objectValue {
            metadata = calibration
        }
        return CodebookSet(modelFingerprint: fingerprint, configuration: configuration, headDim: dim,
                           codebooks: books, statistics: stats, metadata: metadata)
    }

    static func manifest(for set: CodebookSet, firstLayer: Int) -> JSONValue {
        var object = JSONObject()
        object["format"] = "a2ats-codebook"
        object["version"] = .int(Int(version))
        object["model_sha256_prefix"] = .string(set.modelFingerprint)
        object["layers"] = .int(set.layerCount)
        object["first_layer"] = .int(firstLayer)
        object["kv_heads"] = .int(set.kvHeadCount)
        object["head_dim"] = .int(set.headDim)
        object["centroids"] = .int(set.configuration.centroids)
        object["wrope"] = .bool(set.configuration.wrope)
        object["wrope_offset"] = .int(set.configuration.wropeOffset)
        object["query_aware"] = .bool(set.configuration.queryAware)
        object["calibration"] = .object(set.metadata)
        object["codebooks"] = .array(set.statistics.enumerated().flatMap { layer, heads in
            heads.enumerated().map { head, s -> JSONValue in
                .object(["layer": .int(firstLayer + layer), "kv_head": .int(head), "iterations": .int(s.iterations),
                         "converged": .bool(s.converged), "objective": .double(s.objective)])
            }
        })
        return .object(object)
    }

    private static func appendInteger<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    /// FNV-1a 64: enough to catch truncation and bit rot, not an authenticity check.
    static func checksum(_ data: Data) -> UInt64 {
        data.withUnsafeBytes { raw in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in raw { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return hash
        }
    }
}
