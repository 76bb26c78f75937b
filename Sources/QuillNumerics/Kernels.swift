import CQuillKernels

/// Elementwise kernels on flat buffers.
///
/// Each is generic over the scalar and pre-specialised for `Float` and `Double`. Callers that are themselves
/// specialised (release builds use cross-module optimisation, see Package.swift) reach the vectorised body directly.
public enum Kernels {
    /// `y[r, :] += bias` for each of `rows` rows of width `cols`.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func addRowVector<T: QuillScalar>(_ y: UnsafeMutablePointer<T>, rows: Int, cols: Int,
                                                    _ bias: UnsafePointer<T>) {
        KernelThreads.forEachRowRange(rows, width: cols) { range in
            for r in range {
                let row = y + r * cols
                for j in 0..<cols { row[j] += bias[j] }
            }
        }
    }

    /// `out[j] += Σ_r x[r, j]`: the bias gradient of a row-broadcast bias.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func accumulateColumnSums<T: QuillScalar>(_ x: UnsafePointer<T>, rows: Int, cols: Int,
                                                            into out: UnsafeMutablePointer<T>) {
        // Cut by columns: each column is still summed over the rows in order.
        KernelThreads.forEachColumnRange(cols, rows: rows) { columns in
            for r in 0..<rows {
                let row = x + r * cols
                for j in columns { out[j] += row[j] }
            }
        }
    }

    /// `y += x`.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func add<T: QuillScalar>(_ x: UnsafePointer<T>, into y: UnsafeMutablePointer<T>, count n: Int) {
        for i in 0..<n { y[i] += x[i] }
    }

    /// `y = a * x`.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func scale<T: QuillScalar>(_ x: UnsafePointer<T>, by a: T, into y: UnsafeMutablePointer<T>,
                                             count n: Int) {
        for i in 0..<n { y[i] = a * x[i] }
    }

    /// `y = x * m` elementwise.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func multiply<T: QuillScalar>(_ x: UnsafePointer<T>, _ m: UnsafePointer<T>,
                                                into y: UnsafeMutablePointer<T>, count n: Int) {
        for i in 0..<n { y[i] = x[i] * m[i] }
    }

    /// `dst = srcᵀ`: src is (rows, cols) row-major, dst (cols, rows). Blocked so both sides stay in cache.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func transpose<T: QuillScalar>(_ src: UnsafePointer<T>, rows: Int, cols: Int,
                                                 into dst: UnsafeMutablePointer<T>) {
        let blk = 32
        for r0 in stride(from: 0, to: rows, by: blk) {
            let r1 = Swift.min(r0 + blk, rows)
            for c0 in stride(from: 0, to: cols, by: blk) {
                let c1 = Swift.min(c0 + blk, cols)
                for r in r0..<r1 {
                    for c in c0..<c1 { dst[c * rows + r] = src[r * cols + c] }
                }
            }
        }
    }

    /// Copies `rows` rows of width `width` from a strided source into a strided destination.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func copyRows<T: QuillScalar>(rows: Int, width: Int,
                                                from src: UnsafePointer<T>, srcStride: Int,
                                                to dst: UnsafeMutablePointer<T>, dstStride: Int) {
        KernelThreads.forEachRowRange(rows, width: width) { range in
            for r in range { (dst + r * dstStride).update(from: src + r * srcStride, count: width) }
        }
    }

    /// Adds `rows` rows of width `width` from a strided source into a strided destination.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func addRows<T: QuillScalar>(rows: Int, width: Int,
                                               from src: UnsafePointer<T>, srcStride: Int,
                                               to dst: UnsafeMutablePointer<T>, dstStride: Int) {
        KernelThreads.forEachRowRange(rows, width: width) { range in
            for r in range {
                let s = src + r * srcStride, d = dst + r * dstStride
                for j in 0..<width { d[j] += s[j] }
            }
        }
    }

    /// Clamps every value to [-limit, limit].
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func clamp<T: QuillScalar>(_ x: UnsafeMutablePointer<T>, count n: Int, limit: T) {
        for i in 0..<n { x[i] = Swift.min(Swift.max(x[i], -limit), limit) }
    }

    /// `y = tanh(x)` with the scalar's fast tanh.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func tanh<T: QuillScalar>(_ x: UnsafePointer<T>, into y: UnsafeMutablePointer<T>, count n: Int) {
        if T.self == Float.self, n > 0 { return qk_tanh(floats(x), floats(y), n) }
        for i in 0..<n { y[i] = T.fastTanh(x[i]) }
    }

    /// `y = sigmoid(x)` with the scalar's fast sigmoid.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func sigmoid<T: QuillScalar>(_ x: UnsafePointer<T>, into y: UnsafeMutablePointer<T>,
                                               count n: Int) {
        if T.self == Float.self, n > 0 { return qk_sigmoid(floats(x), floats(y), n) }
        for i in 0..<n { y[i] = T.fastSigmoid(x[i]) }
    }

    /// Adam's update (Kingma & Ba 2015) over `n` values, in place: m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g·g,
    /// w −= lr·m / (√v + eps), with Adam's bias correction folded into `lr` and `eps` by the caller. In Float it runs
    /// CQuillKernels' qk_adam (vectorised, cut over the kernel threads, the same bits as this loop); w, g, m, v must
    /// not overlap.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func adam<T: QuillScalar>(_ w: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>,
                                            _ m: UnsafeMutablePointer<T>, _ v: UnsafeMutablePointer<T>, count n: Int,
                                            lr: T, beta1: T, beta2: T, eps: T) {
        if T.self == Float.self, n > 0 {
            return qk_adam(floats(w), floats(g), floats(m), floats(v), n, Float(lr), Float(beta1), Float(beta2),
                           Float(eps))
        }
        for i in 0..<n {
            let gi = g[i]
            let mi = beta1 * m[i] + (1 - beta1) * gi
            let vi = beta2 * v[i] + (1 - beta2) * gi * gi
            m[i] = mi; v[i] = vi
            w[i] -= lr * mi / (vi.squareRoot() + eps)
        }
    }

    /// The plain C loop `qk_sum_of_squares` falls back to without AVX2 (for tests on CPUs with it).
    static func portableSumOfSquares(_ x: UnsafePointer<Float>, count n: Int) -> Double {
        qk_sum_of_squares_portable(x, n)
    }

    /// The plain C loop `qk_adam` falls back to without AVX2 (for tests on CPUs with it).
    static func portableAdam(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
                             _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, count n: Int,
                             lr: Float, beta1: Float, beta2: Float, eps: Float) {
        qk_adam_portable(w, g, m, v, n, lr, beta1, beta2, eps)
    }

    /// A Float buffer seen as one (the callers have checked `T.self == Float.self`).
    @inline(__always)
    static func floats<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
        UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
    }
    @inline(__always)
    static func floats<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    /// The plain C loops `qk_tanh` and `qk_sigmoid` fall back to without AVX2 (for tests on CPUs with it).
    static func portableTanh(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
        qk_tanh_portable(x, y, n)
    }
    static func portableSigmoid(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
        qk_sigmoid_portable(x, y, n)
    }

    // The Float forms run CQuillKernels' qk_tanh/qk_sigmoid: the same bits as the loops below, vectorised at run
    // time whatever flags built this module (a by-version dependency gets none). In-place forms take one pointer: with two pointers that are equal, the vectoriser's runtime overlap check
    // fails and the loop falls back to scalar code.

    /// `x = tanh(x)`.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func tanhInPlace<T: QuillScalar>(_ x: UnsafeMutablePointer<T>, count n: Int) {
        if T.self == Float.self, n > 0 { return qk_tanh(floats(x), floats(x), n) }
        for i in 0..<n { x[i] = T.fastTanh(x[i]) }
    }

    /// `x = sigmoid(x)`.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func sigmoidInPlace<T: QuillScalar>(_ x: UnsafeMutablePointer<T>, count n: Int) {
        if T.self == Float.self, n > 0 { return qk_sigmoid(floats(x), floats(x), n) }
        for i in 0..<n { x[i] = T.fastSigmoid(x[i]) }
    }

    /// `x *= m` elementwise.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func multiplyInPlace<T: QuillScalar>(_ x: UnsafeMutablePointer<T>, by m: UnsafePointer<T>,
                                                       count n: Int) {
        for i in 0..<n { x[i] *= m[i] }
    }

    /// `x *= a`.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func scaleInPlace<T: QuillScalar>(_ x: UnsafeMutablePointer<T>, by a: T, count n: Int) {
        for i in 0..<n { x[i] *= a }
    }

    /// `y = exp(x)` with the scalar's fast exp.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func exp<T: QuillScalar>(_ x: UnsafePointer<T>, into y: UnsafeMutablePointer<T>, count n: Int) {
        for i in 0..<n { y[i] = T.fastExp(x[i]) }
    }

    /// Σ x²: the squares of each block of 4,096 values summed in the scalar type, in order, and the blocks' sums in
    /// Double, in order. In Float it runs CQuillKernels' qk_sum_of_squares (blocks side by side in the vector lanes
    /// and over the kernel threads; the same bits as this loop).
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func sumOfSquares<T: QuillScalar>(_ x: UnsafePointer<T>, count n: Int) -> Double {
        if T.self == Float.self, n > 0 { return qk_sum_of_squares(floats(x), n) }
        var acc = 0.0
        var i = 0
        // Blocks keep Float partial sums short, so accuracy does not depend on the tensor size.
        while i < n {
            let end = Swift.min(i + 4096, n)
            var s: T = 0
            for j in i..<end { s += x[j] * x[j] }
            acc += Double(s)
            i = end
        }
        return acc
    }
}
