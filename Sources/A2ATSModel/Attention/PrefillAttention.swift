import A2ATSTensor
import Foundation

/// Causal softmax attention for a whole prompt, blocked by query rows: each block of `blockRows`
/// queries scores against the keys up to its last row (`rows × end`, never `n × n`), takes a
/// row softmax, and multiplies by the values — both products as one sgemm. Query heads run in
/// parallel on the machine's cores with single-threaded BLAS inside. Rows no statistic needs stay
/// unnormalized (exp(s − max)); their `headDim` outputs are divided by the row sum after the
/// value product, which saves a pass over `n` weights per row.
///
/// The same pass records what eviction methods need: the attention rows of the last
/// `observationWindow` queries and the attention each token accumulates over all queries.
struct PrefillAttention {
    let config: ModelConfig
    let blockRows: Int

    /// Workers that run heads in parallel.
    static var workerCount: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Floats of score scratch `run` needs for a prompt of `count` tokens (reused across layers,
    /// so no layer faults in fresh pages).
    func scratchCount(count: Int) -> Int {
        min(config.headCount, Self.workerCount) * (blockRows * count + blockRows)
    }

    /// `queries`: row r (position r) at `queries + r·queryStride`, heads back to back, after RoPE.
    /// Keys and values are read from `cache` (already filled for positions 0..<count).
    /// `output`: `count × headCount·headDim`.
    func run(queries: UnsafePointer<Float>, queryStride: Int, count: Int, layer: Int, cache: KVCache,
             statistics: PrefillStatistics, scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) {
        let d = config.headDim, heads = config.headCount
        let outputStride = heads * d
        let scale = 1 / Float(d).squareRoot()
        let window = statistics.observationWindow
        let firstObserved = count - window
        let accumulate = statistics.hasAccumulatedAttention
        let observation = window > 0 ? statistics.withObservation(layer: layer) { SendablePointer($0) } : nil
        let accumulated = accumulate ? statistics.withAccumulated(layer: layer) { SendablePointer($0) } : nil
        let queries = SendablePointer(UnsafeMutablePointer(mutating: queries))
        let output = SendablePointer(output)
        let scratch = SendablePointer(scratch)

        let savedThreads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = savedThreads }
        let workers = min(heads, Self.workerCount)
        // Work units are (head, block) pairs, so 9 heads on 2 cores do not leave one core idle
        // for a ninth head; accumulated attention sums over a head's blocks into one row, so
        // then a unit is a whole head (one writer per row).
        let unitsPerHead = accumulate ? 1 : (count + blockRows - 1) / blockRows
        Parallel.perform(workers) { worker in
            let scores = scratch.pointer + worker * (blockRows * count + blockRows)
            let inverseSums = scores + blockRows * count
            for unit in 0..<heads * unitsPerHead where owner(unit, workers: workers) == worker {
                let head = unit / unitsPerHead
                let kvHead = head / config.groupSize
                let keys = cache.keys(layer: layer, kvHead: kvHead)
                let values = cache.values(layer: layer, kvHead: kvHead)
                let firstBlock = unit % unitsPerHead, blockStride = unitsPerHead
                for blockStart in stride(from: firstBlock * blockRows, to: count, by: blockStride * blockRows) {
                    let rows = min(blockRows, count - blockStart)
                    let columns = blockStart + rows
                    BLAS.multiplyTransposedB(m: rows, n: columns, k: d, alpha: scale,
                                             a: queries.pointer + blockStart * queryStride + head * d, lda: queryStride,
                                             b: keys, ldb: d, c: scores, ldc: columns)
                    for row in 0..<rows {
                        let position = blockStart + row
                        let line = scores + row * columns
                        let observed = observation != nil && position >= firstObserved
                        if accumulate || observed {
                            softmaxInPlace(line, position + 1)
                            inverseSums[row] = 1
                        } else {
                            inverseSums[row] = 1 / softmaxNumeratorsInPlace(line, position + 1)
                        }
                        (line + position + 1).update(repeating: 0, count: columns - position - 1)
                        if let accumulated {
                            let target = accumulated.pointer + head * count
                            for j in 0...position { target[j] += line[j] }
                        }
                        if let observation, position >= firstObserved {
                            let target = observation.pointer + (head * window + position - firstObserved) * count
                            target.update(from: line, count: columns)
                        }
                    }
                    let block = output.pointer + blockStart * outputStride + head * d
                    BLAS.multiply(m: rows, n: d, k: columns, a: scores, lda: columns, b: values, ldb: d,
                                  c: block, ldc: outputStride)
                    for row in 0..<rows where inverseSums[row] != 1 {
                        let out = block + row * outputStride, inverse = inverseSums[row]
                        for i in 0..<d { out[i] *= inverse }
                    }
                }
            }
        }
    }
}

/// The worker of a unit, dealt boustrophedon (0 1 1 0 0 1 …): causal blocks grow in cost, so a
/// plain round robin would hand the last worker the dearer block of every pair.
@inline(__always)
private func owner(_ unit: Int, workers: Int) -> Int {
    let lap = unit / workers, seat = unit % workers
    return lap % 2 == 0 ? seat : workers - 1 - seat
}

/// A raw pointer that may cross into `Parallel.perform`; each worker writes disjoint rows.
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
