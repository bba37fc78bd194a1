/// A small deterministic PRNG (SplitMix64, Steele et al. 2014) so that generated task
/// files are byte-identical for a seed on every platform; the system RNG is never used.
public struct SeededRandom {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// An independent stream for one item (a sample, a vocabulary), derived from a seed
    /// and a label, so that sample k does not depend on how samples before it were drawn.
    public init(seed: UInt64, stream: UInt64) {
        var mixer = SeededRandom(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = mixer.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform integer in `range` (rejection sampling, no modulo bias).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound) &+ 1
        if span == 0 { return Int(bitPattern: UInt(next())) }
        let limit = UInt64.max - UInt64.max % span
        var value = next()
        while value >= limit { value = next() }
        return range.lowerBound + Int(value % span)
    }

    /// Uniform double in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    public mutating func element<T>(of array: [T]) -> T { array[int(in: 0...(array.count - 1))] }

    /// Fisher–Yates shuffle.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, int(in: 0...i))
        }
    }

    /// `count` distinct elements in random order (like Python's `random.sample`).
    public mutating func sample<T>(_ array: [T], count: Int) -> [T] {
        precondition(count <= array.count, "sample larger than population")
        var pool = array
        for i in 0..<count { pool.swapAt(i, int(in: i...(pool.count - 1))) }
        return Array(pool[0..<count])
    }

    /// A random version-4 UUID string, lower case, as Python's `uuid.UUID(version=4)` prints.
    public mutating func uuid() -> String {
        var high = next(), low = next()
        high = (high & ~0xF000) | 0x4000                          // version 4
        low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000 // RFC 4122 variant
        let hex = String(high, radix: 16).leftPadded(to: 16) + String(low, radix: 16).leftPadded(to: 16)
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-"
            + String(c[16..<20]) + "-" + String(c[20..<32])
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
