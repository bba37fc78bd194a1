import Foundation

/// A deterministic PRNG (xoshiro256**, seeded through SplitMix64) so that calibration,
/// k-means++ seeding and synthetic benchmarks give the same result on every machine.
/// `SystemRandomNumberGenerator` cannot be seeded, which would make codebooks unreproducible.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// Expands one 64-bit seed into the 256-bit state with SplitMix64, as the xoshiro authors advise.
    public init(seed: UInt64) {
        var splitMix = seed
        func next() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (next(), next(), next(), next())
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = Self.rotl(state.3, 45)
        return result
    }

    /// A uniform double in [0, 1) from the top 53 bits (exactly representable).
    public mutating func nextUnitDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// A standard normal sample (Box–Muller), for synthetic keys and queries.
    public mutating func nextGaussian() -> Float {
        let u1 = max(nextUnitDouble(), 1e-300)
        let u2 = nextUnitDouble()
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
