import RealModule

/// The scalar types Quill computes in: `Float` for training and sampling, `Double` for gradient checks.
///
/// Each conforming type supplies its BLAS entry points and its elementwise maths. `Float` uses vectorisable
/// approximations of `exp`, `tanh` and the logistic sigmoid (about 1e-7 relative error); `Double` uses libm, so a
/// finite-difference check in `Double` measures the hand-written gradients, not the approximations.
public protocol QuillScalar: Real, BinaryFloatingPoint, Codable, Sendable
where RawSignificand: FixedWidthInteger {
    /// The safetensors dtype tag of this type ("F32", "F64").
    static var dtypeTag: String { get }

    /// `exp(x)`: fast approximation for `Float`, libm for `Double`.
    static func fastExp(_ x: Self) -> Self
    /// `tanh(x)`: fast approximation for `Float`, libm for `Double`.
    static func fastTanh(_ x: Self) -> Self
    /// The logistic sigmoid `1 / (1 + exp(-x))`.
    static func fastSigmoid(_ x: Self) -> Self

    /// Row-major `C = alpha * op(A) * op(B) + beta * C` with `op(A)` of shape (m, k) and `op(B)` of shape (k, n).
    static func blasGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                         alpha: Self, a: UnsafePointer<Self>, lda: Int,
                         b: UnsafePointer<Self>, ldb: Int,
                         beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// Row-major `y = alpha * op(A) * x + beta * y`, A of shape (m, n) with leading dimension lda.
    static func blasGemv(trans: Bool, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
                         x: UnsafePointer<Self>, incx: Int, beta: Self, y: UnsafeMutablePointer<Self>, incy: Int)
}

extension Double: QuillScalar {
    public static var dtypeTag: String { "F64" }
    @inlinable public static func fastExp(_ x: Double) -> Double { Double.exp(x) }
    @inlinable public static func fastTanh(_ x: Double) -> Double { Double.tanh(x) }
    @inlinable public static func fastSigmoid(_ x: Double) -> Double {
        // Written so that neither branch overflows.
        if x >= 0 { return 1 / (1 + Double.exp(-x)) }
        let e = Double.exp(x)
        return e / (1 + e)
    }
}

extension Float: QuillScalar {
    public static var dtypeTag: String { "F32" }

    /// Cephes-style `expf`: range reduction by ln 2, a degree-6 polynomial, and the exponent set through the bits.
    /// Branch- and call-free (rounding by the 1.5·2²³ trick rather than `floor`, which compiles to a libm call),
    /// so loops over it vectorise. Inputs are clamped to [-87.3, 88.7]; relative error about 2e-7.
    @inlinable @inline(__always)
    public static func fastExp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87.3), 88.7)
        // m = 1.5·2²³ + round(x·log₂e): its low mantissa bits hold the integer n.
        let m = xc * 1.442695041 + 12582912.0
        let n = m - 12582912.0
        let r = xc - n * 0.693359375 + n * 2.12194440e-4
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let er = p * r * r + r + 1
        // 2ⁿ: (bits(m) − bits(1.5·2²³) + 127) << 23.
        let bits = (m.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
        return er * Float(bitPattern: bits)
    }

    /// `tanh`: an odd polynomial below |x| = 0.625 (Cephes `tanhf`), `1 - 2 / (exp(2|x|) + 1)` above, blended
    /// without branches.
    @inlinable @inline(__always)
    public static func fastTanh(_ x: Float) -> Float {
        let ax = Swift.abs(x)
        let z = x * x
        var p: Float = -5.70498872745e-3
        p = p * z + 2.06390887954e-2
        p = p * z - 5.37397155531e-2
        p = p * z + 1.33314422036e-1
        p = p * z - 3.33332819422e-1
        let small = p * z * x + x
        let e = fastExp(2 * ax)
        let bigAbs = 1 - 2 / (e + 1)
        let big = x < 0 ? -bigAbs : bigAbs
        return ax < 0.625 ? small : big
    }

    /// The logistic sigmoid through `fastExp`; saturates cleanly at both ends.
    @inlinable @inline(__always)
    public static func fastSigmoid(_ x: Float) -> Float {
        1 / (1 + fastExp(-x))
    }
}
