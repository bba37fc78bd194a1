import COpenBLAS
import A2ATSSupport
import A2ATSTensor

/// What a set of codebooks was calibrated for; a run must use the same settings.
public struct CodebookConfiguration: Equatable, Sendable {
    /// C, entries per codebook (codes are UInt16, so C ≤ 65,536).
    public var centroids: Int
    /// Codes of pre-RoPE keys ranked with WRoPE (true), or codes of post-RoPE keys (false, the naive way).
    public var wrope: Bool
    /// The WRoPE offset b (kept even when `wrope` is false, to name the file).
    public var wropeOffset: Int
    /// H = E[q̃ᵀq̃] weighting (true) or plain k-means, H = I (false).
    public var queryAware: Bool

    public init(centroids: Int = 512, wrope: Bool = true, wropeOffset: Int = 2048, queryAware: Bool = true) {
        self.centroids = centroids
        self.wrope = wrope
        self.wropeOffset = wropeOffset
        self.queryAware = queryAware
    }

    /// One file per configuration in the model's codebook directory.
    public var fileName: String {
        "a2ats-c\(centroids)-" + (wrope ? "wrope\(wropeOffset)" : "postrope") + (queryAware ? "-qa" : "-plain") + ".a2cb"
    }
}

/// The codebook of one (layer, KV head): C centroids in the original key space, for the lookup
/// table q̃·Cᵀ, and the Cholesky factor L of H, for encoding new keys by nearest centroid in the
/// whitened space (‖(k−c)L‖² is the query-weighted error that calibration minimized).
public final class Codebook {
    public let centroidCount: Int
    public let headDim: Int
    /// `centroidCount × headDim`, original key space.
    public let centroids: [Float]
    /// The same centroids dimension by dimension (`headDim × centroidCount`), the layout the
    /// per-step lookup table is computed from (`multiplyFewRows`).
    public let centroidsByDimension: [Float]
    /// Lower-triangular L (`headDim × headDim`, row-major) with H = L Lᵀ; identity for plain k-means.
    public let cholesky: [Float]
    private let search: NearestCentroidSearch
    private let batch = 256
    private let transformed: UnsafeMutablePointer<Float>   // batch × headDim
    private let labels: UnsafeMutablePointer<Int32>        // batch

    public init(centroids: [Float], cholesky: [Float], centroidCount: Int, headDim: Int) {
        precondition(centroids.count == centroidCount * headDim && cholesky.count == headDim * headDim)
        precondition(centroidCount <= Int(UInt16.max) + 1, "codes are UInt16")
        self.centroidCount = centroidCount
        self.headDim = headDim
        self.centroids = centroids
        var byDimension = [Float](repeating: 0, count: centroids.count)
        for c in 0 ..< centroidCount {
            for t in 0 ..< headDim { byDimension[t * centroidCount + c] = centroids[c * headDim + t] }
        }
        centroidsByDimension = byDimension
        self.cholesky = cholesky
        let whitened = Self.multiply(centroids, rows: centroidCount, by: cholesky, dimension: headDim)
        search = NearestCentroidSearch(centroids: whitened, count: centroidCount, dimension: headDim)
        transformed = .allocate(capacity: batch * headDim)
        labels = .allocate(capacity: batch)
    }

    /// A codebook from centroids found in the whitened space: c = c′·L⁻¹ maps them back.
    public convenience init(whitenedCentroids: [Float], cholesky: [Float], centroidCount: Int, headDim: Int) {
        let inverse = Cholesky.invertLower(cholesky, n: headDim)
        self.init(centroids: Self.multiply(whitenedCentroids, rows: centroidCount, by: inverse, dimension: headDim),
                  cholesky: cholesky, centroidCount: centroidCount, headDim: headDim)
    }

    deinit {
        transformed.deallocate()
        labels.deallocate()
    }

    /// The identity matrix, the Cholesky factor of plain k-means.
    public static func identity(_ n: Int) -> [Float] {
        var m = [Float](repeating: 0, count: n * n)
        for i in 0 ..< n { m[i * n + i] = 1 }
        return m
    }

    /// Codes of `count` keys (`count × headDim`): nearest centroid of k·L among c·L. No allocation.
    public func encode(_ keys: UnsafePointer<Float>, count: Int, into codes: UnsafeMutablePointer<UInt16>) {
        var start = 0
        while start < count {
            let rows = min(batch, count - start)
            cholesky.withUnsafeBufferPointer { l in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(headDim), Int32(headDim),
                            1, keys + start * headDim, Int32(headDim), l.baseAddress!, Int32(headDim),
                            0, transformed, Int32(headDim))
            }
            search.assign(transformed, count: rows, labels: labels)
            for r in 0 ..< rows { codes[start + r] = UInt16(truncatingIfNeeded: labels[r]) }
            start += rows
        }
    }

    /// Bytes resident for this codebook: centroids (in both layouts), whitened centroids and L.
    public var residentBytes: Int { (3 * centroidCount * headDim + headDim * headDim) * MemoryLayout<Float>.size }

    static func multiply(_ a: [Float], rows: Int, by b: [Float], dimension d: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * d)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(d), Int32(d),
                    1, a, Int32(d), b, Int32(d), 0, &out, Int32(d))
        return out
    }
}

/// How one codebook's k-means ended, for the manifest.
public struct CodebookStatistics: Equatable, Sendable {
    public var iterations: Int
    public var objective: Double
    public var converged: Bool

    public init(iterations: Int, objective: Double, converged: Bool) {
        self.iterations = iterations
        self.objective = objective
        self.converged = converged
    }
}

/// All codebooks of one model and configuration: `codebooks[layer][kvHead]`.
public final class CodebookSet {
    /// First 16 hex digits of the model file's sha256: a file made for another model is refused.
    public let modelFingerprint: String
    public let configuration: CodebookConfiguration
    public let layerCount: Int
    public let kvHeadCount: Int
    public let headDim: Int
    public let codebooks: [[Codebook]]
    public let statistics: [[CodebookStatistics]]
    /// Free-form calibration facts for the manifest (text checksum, token count, seeds, …).
    public var metadata: JSONObject

    public init(modelFingerprint: String, configuration: CodebookConfiguration, headDim: Int,
                codebooks: [[Codebook]], statistics: [[CodebookStatistics]], metadata: JSONObject = JSONObject()) {
        precondition(!codebooks.isEmpty && codebooks.allSatisfy { $0.count == codebooks[0].count })
        precondition(codebooks.joined().allSatisfy { $0.headDim == headDim && $0.centroidCount == configuration.centroids })
        self.modelFingerprint = modelFingerprint
        self.configuration = configuration
        self.layerCount = codebooks.count
        self.kvHeadCount = codebooks[0].count
        self.headDim = headDim
        self.codebooks = codebooks
        self.statistics = statistics
        self.metadata = metadata
    }

    public func codebook(layer: Int, kvHead: Int) -> Codebook { codebooks[layer][kvHead] }

    public var residentBytes: Int { codebooks.joined().reduce(0) { $0 + $1.residentBytes } }
}
