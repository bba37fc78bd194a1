import Foundation

/// How sure a score is: 95% intervals for one cell and paired tests between two methods on the
/// same samples, so that a report can tell a result from one sample's worth of noise.
public enum Statistics {
    /// z for a two-sided 95% interval.
    public static let z95 = 1.959963984540054

    /// Wilson score interval (Wilson 1927) for `successes` of `n` Bernoulli trials, as fractions.
    public static func wilson(successes: Int, n: Int, z: Double = z95) -> (low: Double, high: Double) {
        guard n > 0 else { return (0, 1) }
        let p = Double(successes) / Double(n), nn = Double(n), z2 = z * z
        let centre = (p + z2 / (2 * nn)) / (1 + z2 / nn)
        let half = z / (1 + z2 / nn) * ((p * (1 - p) / nn + z2 / (4 * nn * nn)).squareRoot())
        return (max(0, centre - half), min(1, centre + half))
    }

    /// Percentile bootstrap interval of the mean: `resamples` resamples of the values with
    /// replacement, from a fixed seed so that a report is the same each time it is written.
    public static func bootstrapMean(_ values: [Double], resamples: Int = 2000, seed: UInt64 = 0x5EED) -> (low: Double, high: Double) {
        stratifiedBootstrapMean([values], resamples: resamples, seed: seed)
    }

    /// Percentile bootstrap interval of the mean of group means (the average over tasks): each
    /// group is resampled within itself, so every task keeps its weight.
    public static func stratifiedBootstrapMean(_ groups: [[Double]], resamples: Int = 2000,
                                               seed: UInt64 = 0x5EED) -> (low: Double, high: Double) {
        let groups = groups.filter { !$0.isEmpty }
        guard !groups.isEmpty else { return (0, 0) }
        if groups.allSatisfy({ $0.count == 1 }) {
            let mean = groups.map { $0[0] }.reduce(0, +) / Double(groups.count)
            return (mean, mean)
        }
        var state = seed
        func next() -> UInt64 {   // SplitMix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var means: [Double] = []
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var total = 0.0
            for values in groups {
                let n = values.count
                var sum = 0.0
                for _ in 0..<n { sum += values[Int(next() % UInt64(n))] }
                total += sum / Double(n)
            }
            means.append(total / Double(groups.count))
        }
        means.sort()
        func quantile(_ q: Double) -> Double { means[min(resamples - 1, max(0, Int((q * Double(resamples)).rounded(.down))))] }
        return (quantile(0.025), quantile(0.975))
    }

    /// Exact two-sided sign test: the probability, under "either direction equally likely", of a
    /// split at least as uneven as `positive` : `negative` (ties are dropped before). On 0/1
    /// outcomes the discordant pairs make this the exact McNemar test.
    public static func signTest(positive: Int, negative: Int) -> Double {
        let n = positive + negative
        guard n > 0 else { return 1 }
        let k = min(positive, negative)
        // log C(n, i) − n log 2, summed in linear space: exact enough for n in the thousands.
        var tail = 0.0
        var logChoose = 0.0   // log C(n, 0)
        for i in 0...k {
            if i > 0 { logChoose += log(Double(n - i + 1)) - log(Double(i)) }
            tail += exp(logChoose - Double(n) * log(2))
        }
        return min(1, 2 * tail)
    }

    /// The smallest n at which a 95% interval around the same mean would be at most ±`halfWidth`
    /// points: Wilson at the observed pass rate for 0/1 scores, the normal interval of the mean with
    /// the observed standard deviation for partial scores.
    public static func samplesForHalfWidth(_ scores: [Double], halfWidth: Double = 10) -> Int {
        guard !scores.isEmpty else { return 0 }
        let mean = scores.reduce(0, +) / Double(scores.count)
        if scores.allSatisfy({ $0 == 0 || $0 == 100 }) {
            let p = mean / 100
            var n = 1
            while n < 100_000 {
                let successes = Int((p * Double(n)).rounded())
                let interval = wilson(successes: successes, n: n)
                if 100 * (interval.high - interval.low) / 2 <= halfWidth { return n }
                n += 1
            }
            return n
        }
        let variance = scores.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(1, scores.count - 1))
        return max(2, Int(ceil(z95 * z95 * variance / (halfWidth * halfWidth))))
    }
}
