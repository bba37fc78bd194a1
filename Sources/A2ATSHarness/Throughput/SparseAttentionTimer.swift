import A2ATSTensor
import Foundation

/// Times this project's sparse attention kernel (GroupedAttention over an index list, the one
/// every retrieval method decodes with) at a model's head shape, so the serving model's CPU term
/// is a measurement of real code rather than a guess.
public enum SparseAttentionTimer {
    /// Median seconds per selected row of one KV head (its whole query group attending) on one
    /// core, over `rows` rows drawn at random from a cache of `cacheRows` (K/V far larger than the
    /// caches, as at 32K). With `threads` > 1 that many cores run the kernel at once, each on its
    /// own cache, so the figure includes their contention for memory bandwidth, as in serving.
    public static func secondsPerRow(headDim d: Int, groupSize: Int, cacheRows: Int, rows: Int, threads: Int = 1,
                                     repeats: Int = 9) -> Double {
        let savedThreads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = savedThreads }
        let medians = UnsafeMutablePointer<Double>.allocate(capacity: threads)
        defer { medians.deallocate() }
        let results = Int(bitPattern: medians)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let median = timeOneThread(seed: 2502_12665 &+ UInt64(thread), headDim: d, groupSize: groupSize,
                                       cacheRows: cacheRows, rows: rows, repeats: repeats)
            UnsafeMutablePointer<Double>(bitPattern: results)![thread] = median
        }
        return UnsafeBufferPointer(start: medians, count: threads).sorted()[threads / 2]
    }

    private static func timeOneThread(seed: UInt64, headDim d: Int, groupSize: Int, cacheRows: Int, rows: Int,
                                      repeats: Int) -> Double {
        var generator = SeededGenerator(seed: seed)
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
                                        output: &output, workers: 1)
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / 8)
        }
        return times.sorted()[times.count / 2] / Double(indices.count)
    }
}
