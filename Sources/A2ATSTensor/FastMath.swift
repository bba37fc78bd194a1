import CKernels

/// Vectorized elementwise math. Softmax over long rows is the hot loop of prefill attention
/// (n²/2 exponentials per head and layer), and libm's scalar `expf` would dominate it.

public typealias FloatVector = SIMD8<Float>

/// e^x for 8 lanes, Cephes-style: x = n·ln2 + r, e^r by a degree-6 polynomial, 2^n by exponent
/// bits. Relative error below 2e-7 on [-87, 88]; inputs below -87 return 0 (softmax tails).
@inline(__always)
public func fastExp(_ x: FloatVector) -> FloatVector {
    // Lane-wise clamp by compare-and-select: the generic `clamped`/`pointwiseMin` and the
    // Float→Int32 conversion compile to per-lane library calls, which cost more than the polynomial.
    let low = FloatVector(repeating: -87.3), high = FloatVector(repeating: 88.3)
    var clamped = x.replacing(with: low, where: x .< low)
    clamped = clamped.replacing(with: high, where: clamped .> high)
    let log2e: Float = 1.442695040888963
    // Adding 1.5·2²³ rounds to the nearest integer (ties to even) in the low mantissa bits, so
    // n and its integer bits come without a conversion instruction; |n| ≤ 128 keeps it exact.
    let magic = FloatVector(repeating: 12_582_912)
    let shifted = clamped * log2e + magic
    let n = shifted - magic
    // Two-part ln 2 keeps r exact to float precision.
    var r = clamped - n * 0.693359375
    r = r + n * 2.12194440e-4
    var p = FloatVector(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * (r * r) + r + 1
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scale = unsafeBitCast((integer &+ 127) &<< 23, to: FloatVector.self)
    let result = p * scale
    return result.replacing(with: 0, where: x .< low)
}

/// e^x for one value through the same polynomial, so scalar tails match the vector body.
@inline(__always)
public func fastExp(_ x: Float) -> Float { fastExp(FloatVector(repeating: x))[0] }

/// Sum of the lanes as a tree of halves. The standard library's `sum()` adds the lanes one by
/// one in order (a chain of dependent scalar adds), which dominated per-row dot products.
@inline(__always)
public func horizontalSum(_ v: SIMD16<Float>) -> Float { horizontalSum(v.lowHalf + v.highHalf) }

@inline(__always)
public func horizontalSum(_ v: SIMD8<Float>) -> Float {
    let four = v.lowHalf + v.highHalf
    let two = four.lowHalf + four.highHalf
    return two[0] + two[1]
}

/// Sum of `count` floats with eight accumulators (Float sums do not auto-vectorize).
@inline(__always)
public func vectorSum(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var acc = FloatVector()
    var i = 0
    while i + 8 <= count {
        acc += UnsafeRawPointer(x + i).loadUnaligned(as: FloatVector.self)
        i += 8
    }
    var total = horizontalSum(acc)
    while i < count { total += x[i]; i += 1 }
    return total
}

/// Dot product of two float vectors.
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    var acc0 = FloatVector(), acc1 = FloatVector()
    var i = 0
    while i + 16 <= count {
        acc0.addProduct(UnsafeRawPointer(a + i).loadUnaligned(as: FloatVector.self),
                        UnsafeRawPointer(b + i).loadUnaligned(as: FloatVector.self))
        acc1.addProduct(UnsafeRawPointer(a + i + 8).loadUnaligned(as: FloatVector.self),
                        UnsafeRawPointer(b + i + 8).loadUnaligned(as: FloatVector.self))
        i += 16
    }
    var total = horizontalSum(acc0 + acc1)
    while i < count { total += a[i] * b[i]; i += 1 }
    return total
}

/// In-place softmax of `count` scores; returns the normalizer Σ exp(x − max) so callers can
/// recover log-sum-exp. Entries equal to -infinity get weight 0.
@discardableResult
public func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
    guard count > 0 else { return 0 }
    let sum = softmaxNumeratorsInPlace(x, count)
    let inverse = FloatVector(repeating: 1 / sum)
    var i = 0
    while i + 8 <= count {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: FloatVector.self) * inverse
        UnsafeMutableRawPointer(x + i).storeBytes(of: v, as: FloatVector.self)
        i += 8
    }
    while i < count { x[i] *= inverse[0]; i += 1 }
    return sum
}

/// The unnormalized half of `softmaxInPlace`: x ← exp(x − max), returning Σ exp(x − max).
/// Attention can divide its `count`-times-smaller output row by the sum instead of every weight.
@discardableResult
public func softmaxNumeratorsInPlace(_ x: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
    softmaxNumerators(x, count).sum
}

/// `softmaxNumeratorsInPlace`, also returning the maximum the exponentials are relative to, so
/// that pieces of one row computed apart can be joined (flash-decoding's rescaling). In C
/// (`a2ats_softmax_numerators_*`): `fastExp`'s polynomial with fused multiply-adds, 16 lanes
/// where the CPU has AVX-512.
@discardableResult
public func softmaxNumerators(_ x: UnsafeMutablePointer<Float>, _ count: Int) -> (maximum: Float, sum: Float) {
    guard count > 0 else { return (-.infinity, 0) }
    var maximum: Float = 0
    let sum = CPUFeatures.hasAVX512 ? a2ats_softmax_numerators_avx512(x, Int32(count), &maximum)
                                    : a2ats_softmax_numerators_avx2(x, Int32(count), &maximum)
    return (maximum, sum)
}

/// y = x / rms(x) · weight, for one row of `count` values (RMSNorm, Zhang & Sennrich 2019).
@inline(__always)
public func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
                    into y: UnsafeMutablePointer<Float>, count: Int) {
    let meanSquare = dot(x, x, count) / Float(count)
    let scale = 1 / (meanSquare + epsilon).squareRoot()
    for i in 0..<count { y[i] = x[i] * scale * weight[i] }
}

/// SwiGLU activation in place: gate[i] = silu(gate[i]) · up[i].
@inline(__always)
public func swiGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        let g = UnsafeRawPointer(gate + i).loadUnaligned(as: FloatVector.self)
        let u = UnsafeRawPointer(up + i).loadUnaligned(as: FloatVector.self)
        let silu = g / (1 + fastExp(-g))
        UnsafeMutableRawPointer(gate + i).storeBytes(of: silu * u, as: FloatVector.self)
        i += 8
    }
    while i < count {
        let g = gate[i]
        gate[i] = g / (1 + fastExp(-g)) * up[i]
        i += 1
    }
}

/// Index of the largest value; the lowest index wins ties (greedy decoding is reproducible).
public func argmax(_ x: UnsafeBufferPointer<Float>) -> Int {
    var best = 0
    for i in 1..<x.count where x[i] > x[best] { best = i }
    return best
}

/// y ← y + alpha · x over `count` floats.
@inline(__always)
public func accumulate(_ alpha: Float, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ count: Int) {
    let a = FloatVector(repeating: alpha)
    var i = 0
    while i + 8 <= count {
        let sum = UnsafeRawPointer(y + i).loadUnaligned(as: FloatVector.self)
            .addingProduct(a, UnsafeRawPointer(x + i).loadUnaligned(as: FloatVector.self))
        UnsafeMutableRawPointer(y + i).storeBytes(of: sum, as: FloatVector.self)
        i += 8
    }
    while i < count { y[i] += alpha * x[i]; i += 1 }
}
