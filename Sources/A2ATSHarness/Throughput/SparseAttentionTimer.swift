import A2ATSTensor
import Foundation

/// Times this project's sparse attention kernel (GroupedAttention over an index list, the one
/// every retrieval method decodes with) at a model's head shape, on one core, so the serving
/// model's CPU term is a measurement of real code rather than a guess.
public enum SparseAttentionTimer {
    /// Median seconds per selected row of one KV head (its whole query group attending), over
    /// `rows` rows drawn at random from a cache of `cacheRows` (K/V far larger than the caches,
    /// as at 32K), on one thread.
    public static func secondsPerRow(headDim d: Int, groupSize: Int, cacheRows: Int, rows: Int, repeats: Int = 9) -> Double {
        let savedThreads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = savedThreads }
        var generator = SeededGenerator(seed: 2502_12665)
        let keys = (0 ..< cacheRows * d).map { _ in generator.nextGaussian() }
        let values = (0 ..< cacheRows * d).map { _ in generator.nextGaussian() }
        let queries = (0 ..< groupSize * d).map { _ in generator.nextGaussian() / Float(d).squareRoot() }
        var chosen = Set<Int32>()
        while chosen.count < min(rows, cacheRows) { chosen.insert(Int32(generator.next() % UInt64(cacheRows))) }
        let indices = chosen.sorted()
        var weights = [Float](repeating: 0, count: groupSize * indices.count)
        var output = [Float](repeating: 0, count: groupSize * d)
        var times: [Double] = []
        for _ in 0 ..< repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            // Enough calls per timing that the clock's resolution does not matter.
            for _ in 0 ..< 8 {
                GroupedAttention.attend(queries: queries, groupSize: groupSize, headDim: d, keys: keys, values: values,
                                        rows: indices, count: indices.count, weights: &weights, stride: indices.count,
                                        output: &output)
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / 8)
        }
        return times.sorted()[times.count / 2] / Double(indices.count)
    }
}
