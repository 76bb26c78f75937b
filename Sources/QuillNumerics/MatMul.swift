import CQuillKernels

/// Matrix products, dispatched to gemm or, for a single row or column, to gemv (about 3x faster at batch 1).
///
/// `C (m, n) = alpha * op(A) * op(B) + beta * C`, row-major, where op(A) is (m, k) and op(B) is (k, n).
/// `A` is stored as (m, k) with leading dimension `lda`, or as (k, m) when `transA`; likewise `B`.
@inlinable
@_specialize(exported: true, where T == Float)
public func matmul<T: QuillScalar>(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                                   alpha: T = 1, a: UnsafePointer<T>, lda: Int,
                                   b: UnsafePointer<T>, ldb: Int,
                                   beta: T = 0, c: UnsafeMutablePointer<T>, ldc: Int) {
    if ProductClock.enabled {
        ProductClock.time(.products, shape: ProductShape(m: m, n: n, k: k, transA: transA, transB: transB)) {
            untimedMatmul(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
                          ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        return
    }
    untimedMatmul(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                  beta: beta, c: c, ldc: ldc)
}

/// `matmul` without the profile's clock.
@inlinable
func untimedMatmul<T: QuillScalar>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
                                   a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
                                   beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    if m == 1 {
        // C row = A row (k) * op(B) (k, n): y = op(B)^T x.
        // B stored (k, n) -> need B^T x: gemv(trans) on (k, n). B stored (n, k) when transB -> gemv(noTrans) on (n, k).
        let incx = transA ? lda : 1
        if transB {
            T.blasGemv(trans: false, m: n, n: k, alpha: alpha, a: b, lda: ldb, x: a, incx: incx,
                       beta: beta, y: c, incy: 1)
        } else {
            T.blasGemv(trans: true, m: k, n: n, alpha: alpha, a: b, lda: ldb, x: a, incx: incx,
                       beta: beta, y: c, incy: 1)
        }
        return
    }
    if n == 1 {
        // C column (m) = op(A) (m, k) * b column (k).
        let incx = transB ? 1 : ldb
        if transA {
            T.blasGemv(trans: true, m: k, n: m, alpha: alpha, a: a, lda: lda, x: b, incx: incx,
                       beta: beta, y: c, incy: ldc)
        } else {
            T.blasGemv(trans: false, m: m, n: k, alpha: alpha, a: a, lda: lda, x: b, incx: incx,
                       beta: beta, y: c, incy: ldc)
        }
        return
    }
    T.blasGemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
               b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
}

/// The plain-loop twin of `matmul`, kept as the algorithmic reference that tests compare BLAS against.
@_specialize(exported: true, where T == Float)
public func referenceMatmul<T: QuillScalar>(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                                            alpha: T = 1, a: UnsafePointer<T>, lda: Int,
                                            b: UnsafePointer<T>, ldb: Int,
                                            beta: T = 0, c: UnsafeMutablePointer<T>, ldc: Int) {
    for i in 0..<m {
        for j in 0..<n {
            var s: T = 0
            for p in 0..<k {
                let av = transA ? a[p * lda + i] : a[i * lda + p]
                let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                s += av * bv
            }
            c[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j])
        }
    }
}

/// A thin product in one pass over its large operand (CQuillKernels' `qk_sgemm_thin`):
/// `C (m, n) = alpha · (bias + op(A) · B) + beta · C`, B stored (k, n) row-major with row stride `ldb`, A stored
/// (m, k) or, when `transA`, (k, m); `bias`: nil or (n), added to every row. For a depth k of at most 8 (a layer's
/// input projection when its input is a pen offset, k = 3) or at most 4 rows without a bias (that layer's weight
/// gradient), where BLAS libraries run at a few percent of the FMA peak. Each element sums over k in order, whatever
/// the threads. Returns false and leaves C alone where it does not run (T not Float, another shape, a CPU without
/// AVX2): call `matmul` then.
@_specialize(exported: true, where T == Float)
public func thinMatmul<T: QuillScalar>(transA: Bool = false, m: Int, n: Int, k: Int, alpha: T = 1,
                                       a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
                                       bias: UnsafePointer<T>? = nil, beta: T = 0,
                                       c: UnsafeMutablePointer<T>, ldc: Int) -> Bool {
    // Sizes and strides well inside Int32 (the kernels' column loop steps past n by up to 64), strides that cover
    // their rows.
    let limit = 1 << 30
    guard T.self == Float.self, m > 0, n > 0, k > 0, k <= 8 || (m <= 4 && bias == nil), qk_level() >= 2,
          [m, n, k, lda, ldb, ldc].allSatisfy({ $0 <= limit }), lda >= (transA ? m : k), ldb >= n, ldc >= n
    else { return false }
    func f(_ p: UnsafePointer<T>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
    let shape = ProductShape(m: m, n: n, k: k, transA: transA, transB: false)
    return ProductClock.time(.products, shape: shape) {
        qk_sgemm_thin(transA ? 1 : 0, Int32(m), Int32(n), Int32(k), Float(alpha), f(a), Int32(lda), f(b), Int32(ldb),
                      bias.map(f), Float(beta), UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self),
                      Int32(ldc)) != 0
    }
}
