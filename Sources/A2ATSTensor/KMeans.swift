import COpenBLAS
import Foundation

/// Settings of one k-means fit; defaults follow contract.md ("A²ATS defaults").
public struct KMeansOptions: Sendable {
    public var centroids: Int
    /// Lloyd iterations at most (the paper: 300; our default model: 50).
    public var maxIterations: Int
    /// Stop when the relative change of the mean squared distance falls below this.
    public var tolerance: Double
    public var seed: UInt64
    /// Points k-means++ seeding looks at (a uniform subsample); nil = max(8·C, 4096).
    public var seedingSampleSize: Int?

    public init(centroids: Int, maxIterations: Int = 50, tolerance: Double = 1e-4, seed: UInt64 = 0,
                seedingSampleSize: Int? = nil) {
        self.centroids = centroids
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.seed = seed
        self.seedingSampleSize = seedingSampleSize
    }
}

public struct KMeansResult: Sendable {
    /// `centroids × dimension`, row-major.
    public var centroids: [Float]
    /// Mean squared distance of the points to their nearest centroid, for `centroids`.
    public var objective: Double
    /// Lloyd iterations run (each is one update and one assignment).
    public var iterations: Int
    /// Whether the relative objective change fell below the tolerance before the limit.
    public var converged: Bool
}

/// k-means++ seeding on a subsample, then Lloyd iterations on every core (`LloydStep`), whose
/// assignment step is the fused nearest-centroid kernel. Empty clusters take the points farthest from their
/// centroids, so the codebook keeps all C entries. Deterministic for a given seed.
public enum KMeans {
    public static func fit(_ points: UnsafePointer<Float>, count: Int, dimension d: Int, options: KMeansOptions,
                           progress: ((_ iteration: Int, _ objective: Double) -> Void)? = nil) throws -> KMeansResult {
        let k = options.centroids
        guard k >= 1, k <= count else { throw TensorError.invalidClusterCount(centroids: k, points: count) }
        var generator = SeededGenerator(seed: options.seed)
        let initial = seedPlusPlus(points, count: count, dimension: d, k: k,
                                   sampleSize: options.seedingSampleSize ?? max(8 * k, 4096), generator: &generator)
        return lloyd(points, count: count, dimension: d, initial: initial, options: options,
                     workers: ProcessInfo.processInfo.activeProcessorCount, progress: progress)
    }

    /// Lloyd iterations from `initial` centroids on `workers` threads; the result does not depend
    /// on `workers` (`LloydStep` adds in one thread's order).
    static func lloyd(_ points: UnsafePointer<Float>, count: Int, dimension d: Int, initial: [Float], options: KMeansOptions,
                      workers: Int,
                      progress: ((_ iteration: Int, _ objective: Double) -> Void)? = nil) -> KMeansResult {
        let step = LloydStep(points: points, count: count, dimension: d, k: options.centroids, workers: workers)
        var labels = [Int32](repeating: 0, count: count)
        var distances = [Float](repeating: 0, count: count)
        var centroids = initial
        func assign() -> Double {
            centroids.withUnsafeBufferPointer { c in
                labels.withUnsafeMutableBufferPointer { l in
                    distances.withUnsafeMutableBufferPointer { step.assign(centroids: c.baseAddress!, labels: l.baseAddress!,
                                                                           distances: $0.baseAddress!) }
                }
            }
        }
        var objective = assign()
        var iterations = 0
        var converged = false
        while iterations < options.maxIterations {
            centroids.withUnsafeMutableBufferPointer { c in
                step.update(centroids: c.baseAddress!, labels: labels, distances: distances)
            }
            let next = assign()
            iterations += 1
            progress?(iterations, next)
            let change = objective > 0 ? abs(objective - next) / objective : 0
            objective = next
            if change < options.tolerance { converged = true; break }
        }
        return KMeansResult(centroids: centroids, objective: objective, iterations: iterations, converged: converged)
    }

    /// k-means++ (Arthur & Vassilvitskii 2007) on a uniform subsample: each next centre is drawn
    /// with probability ∝ squared distance to the nearest centre chosen so far.
    private static func seedPlusPlus(_ points: UnsafePointer<Float>, count: Int, dimension d: Int, k: Int,
                                     sampleSize: Int, generator: inout SeededGenerator) -> [Float] {
        let s = min(max(sampleSize, k), count)
        var order = Array(0 ..< count)
        for i in 0 ..< s {   // partial Fisher–Yates: the first s entries are a uniform sample
            let j = i + Int(generator.next() % UInt64(count - i))
            order.swapAt(i, j)
        }
        var sample = [Float](repeating: 0, count: s * d)
        var sampleNorms = [Float](repeating: 0, count: s)
        for r in 0 ..< s {
            let x = points + order[r] * d
            var norm: Float = 0
            for t in 0 ..< d { sample[r * d + t] = x[t]; norm += x[t] * x[t] }
            sampleNorms[r] = norm
        }
        var centroids = [Float](repeating: 0, count: k * d)
        var nearest = [Float](repeating: .infinity, count: s)
        var dots = [Float](repeating: 0, count: s)
        var chosen = [Bool](repeating: false, count: s)
        var pick = Int(generator.next() % UInt64(s))
        for c in 0 ..< k {
            chosen[pick] = true
            for t in 0 ..< d { centroids[c * d + t] = sample[pick * d + t] }
            if c == k - 1 { break }
            let norm = sampleNorms[pick]
            sample.withUnsafeBufferPointer { sb in
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(s), Int32(d), 1, sb.baseAddress!, Int32(d),
                            sb.baseAddress! + pick * d, 1, 0, &dots, 1)
            }
            var total = 0.0
            for r in 0 ..< s {
                let dist = max(sampleNorms[r] - 2 * dots[r] + norm, 0)
                if dist < nearest[r] { nearest[r] = dist }
                if !chosen[r] { total += Double(nearest[r]) }
            }
            pick = -1
            if total > 0 {
                var target = generator.nextUnitDouble() * total
                for r in 0 ..< s where !chosen[r] {
                    target -= Double(nearest[r])
                    if target < 0 { pick = r; break }
                }
            }
            if pick < 0 {   // all remaining points coincide with centres (or rounding): any unchosen one
                pick = (0 ..< s).first { !chosen[$0] } ?? 0
            }
        }
        return centroids
    }
}
