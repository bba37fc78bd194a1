import Foundation
import COpenBLAS
import A2ATSTensor

/// Calibration samples of one (layer, KV head).
public struct CalibrationSamples {
    /// `queryCount × headDim`: the queries of every query head in the GQA group, pooled. With WRoPE
    /// they are q̃ = q R_b of the pre-RoPE queries; without, the post-RoPE queries.
    public var queries: [Float]
    /// `keyCount × headDim`: pre-RoPE keys with WRoPE, post-RoPE keys without.
    public var keys: [Float]
    /// Per sampled query token (its group's query rows are consecutive in `queries`): the row of
    /// `keys` that holds the same token's key, for methods that pair q_t with k_t (Double Sparsity).
    public var keyRows: [Int]

    public init(queries: [Float], keys: [Float], keyRows: [Int] = []) {
        self.queries = queries
        self.keys = keys
        self.keyRows = keyRows
    }
}

/// Settings of one calibration; defaults from contract.md ("A²ATS defaults").
public struct CalibrationOptions: Sendable {
    public var configuration: CodebookConfiguration
    public var maxIterations: Int = 50
    public var tolerance: Double = 1e-4
    public var seed: UInt64 = 0xA2A7_5EED
    /// Calibration tokens and sequence length: recorded in the manifest; the source honours them.
    public var tokens: Int = 65_536
    public var sequenceLength: Int = 4_096

    public init(configuration: CodebookConfiguration = CodebookConfiguration()) { self.configuration = configuration }
}

/// Progress of a calibration, for a progress line.
public enum CalibrationProgress {
    case layerReused(layer: Int)
    case iteration(layer: Int, kvHead: Int, iteration: Int, objective: Double)
    case layerFinished(layer: Int, seconds: Double)
}

/// Offline calibration (A²ATS §3.2): per (layer, KV head) fit H = E[q̃ᵀq̃] over the pooled queries,
/// normalize it by its RMS, add 1e-6·I, factor H = L Lᵀ, run k-means on the whitened keys k·L and
/// map the centroids back (c = c′L⁻¹). `query_aware=false` uses H = I (plain k-means).
///
/// The driver does not know the model: `samples(layer)` supplies every KV head's samples of one
/// layer. Finished layers are saved in `workDirectory` and reused on restart.
public struct Calibrator {
    public var options: CalibrationOptions
    public var modelFingerprint: String
    public var layerCount: Int
    public var kvHeadCount: Int
    public var headDim: Int

    public init(options: CalibrationOptions, modelFingerprint: String, layerCount: Int, kvHeadCount: Int, headDim: Int) {
        self.options = options
        self.modelFingerprint = modelFingerprint
        self.layerCount = layerCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
    }

    /// Calibrates all layers (reusing finished ones) and returns the set; the caller writes it.
    public func run(workDirectory: String?,
                    samples: (_ layer: Int) throws -> [CalibrationSamples],
                    progress: @escaping (CalibrationProgress) -> Void = { _ in }) throws -> CodebookSet {
        if let workDirectory { try? FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true) }
        var books: [[Codebook]] = [], stats: [[CodebookStatistics]] = []
        for layer in 0 ..< layerCount {
            let path = workDirectory.map { "\($0)/layer-\(layer).a2cb" }
            if let path, FileManager.default.fileExists(atPath: path),
               let saved = try? CodebookFile.read(from: path, expecting: CodebookExpectation(
                   modelFingerprint: modelFingerprint, layerCount: 1, kvHeadCount: kvHeadCount, headDim: headDim,
                   configuration: options.configuration, firstLayer: layer)) {
                books.append(saved.codebooks[0]); stats.append(saved.statistics[0])
                progress(.layerReused(layer: layer))
                continue
            }
            let started = Date()
            let layerSamples = try samples(layer)
            precondition(layerSamples.count == kvHeadCount, "one CalibrationSamples per KV head")
            var layerBooks: [Codebook] = [], layerStats: [CodebookStatistics] = []
            for (head, sample) in layerSamples.enumerated() {
                let (book, stat) = try calibrate(sample, seed: options.seed &+ UInt64(layer * kvHeadCount + head)) {
                    progress(.iteration(layer: layer, kvHead: head, iteration: $0, objective: $1))
                }
                layerBooks.append(book); layerStats.append(stat)
            }
            if let path {
                try CodebookFile.write(CodebookSet(modelFingerprint: modelFingerprint, configuration: options.configuration,
                                                   headDim: headDim, codebooks: [layerBooks], statistics: [layerStats]),
                                       to: path, firstLayer: layer)
            }
            books.append(layerBooks); stats.append(layerStats)
            progress(.layerFinished(layer: layer, seconds: Date().timeIntervalSince(started)))
        }
        return CodebookSet(modelFingerprint: modelFingerprint, configuration: options.configuration, headDim: headDim,
                           codebooks: books, statistics: stats,
                           metadata: ["tokens": .int(options.tokens), "sequence_length": .int(options.sequenceLength),
                                      "seed": .int(Int(options.seed)), "max_iterations": .int(options.maxIterations),
                                      "tolerance": .double(options.tolerance)])
    }

    /// One codebook from one (layer, KV head)'s samples.
    public func calibrate(_ samples: CalibrationSamples, seed: UInt64,
                          progress: ((Int, Double) -> Void)? = nil) throws -> (Codebook, CodebookStatistics) {
        let d = headDim
        let l = options.configuration.queryAware ? try Cholesky.factor(Self.queryCovariance(samples.queries, headDim: d), n: d)
                                                 : Codebook.identity(d)
        let keyCount = samples.keys.count / d
        let whitened = Codebook.multiply(samples.keys, rows: keyCount, by: l, dimension: d)
        let result = try whitened.withUnsafeBufferPointer {
            try KMeans.fit($0.baseAddress!, count: keyCount, dimension: d,
                           options: KMeansOptions(centroids: options.configuration.centroids, maxIterations: options.maxIterations,
                                                  tolerance: options.tolerance, seed: seed), progress: progress)
        }
        let book = Codebook(whitenedCentroids: result.centroids, cholesky: l, centroidCount: options.configuration.centroids, headDim: d)
        return (book, CodebookStatistics(iterations: result.iterations, objective: result.objective, converged: result.converged))
    }

    /// H = QᵀQ / rms(QᵀQ) + 1e-6·I, as the reference code builds it (the scale does not change
    /// the k-means solution; the normalization makes the ridge term scale-free).
    public static func queryCovariance(_ queries: [Float], headDim d: Int) -> [Float] {
        var h = [Float](repeating: 0, count: d * d)
        let count = queries.count / d
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d), Int32(d), Int32(count),
                    1, queries, Int32(d), queries, Int32(d), 0, &h, Int32(d))
        let rms = (h.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(d * d)).squareRoot()
        let scale = rms > 0 ? Float(1 / rms) : 1
        for i in 0 ..< d * d { h[i] *= scale }
        for i in 0 ..< d { h[i * d + i] += 1e-6 }
        return h
    }
}
