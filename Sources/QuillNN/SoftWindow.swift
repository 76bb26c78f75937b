import CQuillKernels
import QuillNumerics

/// Graves's soft attention window over the characters of a text (section 5, eqs. 46–51).
///
/// From the first layer's output h¹_t it computes (α̂, β̂, κ̂) = W h¹_t + b (3K values), then α = exp(α̂),
/// β = exp(β̂), κ_t = κ_{t−1} + s · exp(κ̂), φ(t, u) = Σ_k α_k exp(−β_k (κ_k − u)²) for u = 1…U, and the window
/// vector w_t = Σ_u φ(t, u) c_u, where c_u is the one-hot vector of character u.
///
/// Deviation from the paper: the κ step is scaled by `kappaScale` s (the paper has s = 1). A pen point covers about
/// 1/25 of a character in IAM-OnDB, so with s = 1/25 a freshly initialised network (κ̂ ≈ 0) already moves its
/// window at roughly the right speed instead of racing past the text in the first steps; the scale is a fixed
/// reparametrisation and takes nothing away from what the network can express.
public final class SoftWindow<T: QuillScalar> {
    public let components: Int
    public let inputSize: Int
    public let vocabularySize: Int
    public let kappaScale: T
    /// (inputSize, 3K): columns are α̂ (K), β̂ (K), κ̂ (K).
    public let linear: Linear<T>

    public init(components K: Int, inputSize: Int, vocabularySize: Int, kappaScale: Double, name: String,
                rng: inout SeededGenerator) {
        components = K
        self.inputSize = inputSize
        self.vocabularySize = vocabularySize
        self.kappaScale = T(kappaScale)
        linear = Linear(inputSize: inputSize, outputSize: 3 * K, name: name, rng: &rng)
        // Start with broad, low-weight Gaussians (α ≈ e^-1, β ≈ e^-1): an uninformative first window.
        for k in 0..<(2 * K) { linear.bias.value[k] = -1 }
    }

    public var parameters: [Parameter<T>] { linear.parameters }

    /// Batch rows per kernel thread, at least: below that the window's per-step work runs on one thread.
    static var rowsPerThread: Int { 4 }

    // MARK: - Forward

    /// Step t: reads h¹_t (B, inputSize) and κ_{t−1}, writes α, β, κ_t, φ(t, ·) and w_t.
    public func forwardStep(_ t: Int, h: UnsafePointer<T>, _ ws: WindowWorkspace<T>) {
        let B = ws.batch, K = components
        let p = ws.params.ptr + t * B * 3 * K
        linear.forward(h, rows: B, into: p)
        let U = ws.maxTextLength, V = vocabularySize
        ws.lengths.withUnsafeBufferPointer { lengths in
            // Rows are independent: split over the kernel threads.
            KernelThreads.forEachRange(B, minimumPerThread: Self.rowsPerThread) { rows in
                let r = rows.lowerBound
                // Invariant: the body runs only for a non-empty range of rows and ws.lengths has one entry per row.
                let rowLengths = lengths.baseAddress! + r
                WindowKernels.forward(params: p + r * 3 * K, kappaPrevious: ws.kappa.ptr + (t * B + r) * K,
                                      alpha: ws.alpha.ptr + (t * B + r) * K, beta: ws.beta.ptr + (t * B + r) * K,
                                      kappa: ws.kappa.ptr + ((t + 1) * B + r) * K,
                                      phi: ws.phi.ptr + (t * B + r) * (U + 1),
                                      w: ws.w.ptr + ((t + 1) * B + r) * V,
                                      text: ws.text.ptr + r * U, lengths: rowLengths,
                                      positions: ws.positions.ptr, batch: rows.count, components: K,
                                      maxTextLength: U, vocabulary: V, kappaScale: kappaScale)
            }
        }
    }

    /// w_t for all rows of step t: (B, V). `wPrevious(0)` is the initial window vector.
    @_specialize(exported: true, where T == Float)
    public func window(at t: Int, _ ws: WindowWorkspace<T>) -> UnsafeMutablePointer<T> {
        ws.w.ptr + (t + 1) * ws.batch * vocabularySize
    }

    // MARK: - Backward

    /// Starts a backward pass: zeroes the κ gradient carried through time.
    @_specialize(exported: true, where T == Float)
    public func beginBackward(_ ws: WindowWorkspace<T>) { ws.dKappaCarry.zero() }

    /// Backward through step t. dw: (B, V) total gradient of w_t. Writes dh (B, inputSize) (overwritten), the
    /// gradient reaching h¹_t through the window, and keeps ∂L/∂p_t for `finishBackward`.
    public func backwardStep(_ t: Int, dw: UnsafePointer<T>, h: UnsafePointer<T>, dh: UnsafeMutablePointer<T>,
                             _ ws: WindowWorkspace<T>) {
        let B = ws.batch, K = components
        let dp = ws.dParams.ptr + t * B * 3 * K
        let U = ws.maxTextLength, V = vocabularySize
        ws.lengths.withUnsafeBufferPointer { lengths in
            KernelThreads.forEachRange(B, minimumPerThread: Self.rowsPerThread) { rows in
                let r = rows.lowerBound
                // Invariant: the body runs only for a non-empty range of rows and ws.lengths has one entry per row.
                let rowLengths = lengths.baseAddress! + r
                WindowKernels.backward(dw: dw + r * V, params: ws.params.ptr + (t * B + r) * 3 * K,
                                       alpha: ws.alpha.ptr + (t * B + r) * K, beta: ws.beta.ptr + (t * B + r) * K,
                                       kappa: ws.kappa.ptr + ((t + 1) * B + r) * K,
                                       kappaCarry: ws.dKappaCarry.ptr + r * K, dParams: dp + r * 3 * K,
                                       text: ws.text.ptr + r * U, lengths: rowLengths,
                                       positions: ws.positions.ptr, scratch: ws.scratch.ptr + r * 3 * K,
                                       batch: rows.count, components: K, maxTextLength: U, vocabulary: V,
                                       kappaScale: kappaScale)
            }
        }
        matmul(transB: true, m: B, n: inputSize, k: 3 * K, a: dp, lda: 3 * K, b: linear.weight.value.ptr,
               ldb: 3 * K, c: dh, ldc: inputSize)
    }

    /// Weight gradients over `steps` steps as one GEMM. h: (T, B, inputSize), the inputs of every step.
    @_specialize(exported: true, where T == Float)
    public func finishBackward(h: UnsafePointer<T>, _ ws: WindowWorkspace<T>, steps: Int) {
        let rows = steps * ws.batch, K3 = 3 * components
        matmul(transA: true, m: inputSize, n: K3, k: rows, a: h, lda: inputSize, b: ws.dParams.ptr, ldb: K3,
               beta: 1, c: linear.weight.grad.ptr, ldc: K3)
        Kernels.accumulateColumnSums(ws.dParams.ptr, rows: rows, cols: K3, into: linear.bias.grad.ptr)
    }

    /// The window's focus for row b at step t: the first u (0-based, 0…U) with the largest φ(t, u + 1); U when
    /// φ(t, U+1), just past the text, is the largest.
    @_specialize(exported: true, where T == Float)
    public func focus(_ t: Int, row b: Int, _ ws: WindowWorkspace<T>) -> Int {
        let len = ws.lengths[b]
        let phi = ws.phi.ptr + (t * ws.batch + b) * (ws.maxTextLength + 1)
        var best = 0
        for u in 0...len where phi[u] > phi[best] { best = u }
        return best
    }

    /// Graves's stopping rule for row b after step t: φ(t, U+1) exceeds φ(t, u) for every u ≤ U, that is the
    /// focus has moved past the text.
    @_specialize(exported: true, where T == Float)
    public func finished(_ t: Int, row b: Int, _ ws: WindowWorkspace<T>) -> Bool {
        focus(t, row: b, ws) == ws.lengths[b]
    }
}

/// The window's per-step maths over a batch, as specialised static kernels on raw buffers. In Float on CPUs with
/// AVX-512 or AVX2 with FMA they hand over to the C kernels of `CQuillKernels` (`FusedKernels`); the Swift loops
/// below are the portable path and the reference. Each inner loop carries nothing from one iteration to the next (over characters
/// u in `forward`, over Gaussians j in `backward`), so they vectorise; with scalar reductions in the inner loops the
/// window took 15% of a synthesis training step.
enum WindowKernels {
    /// α = exp α̂, β = exp β̂, κ_t = κ_{t−1} + s·exp κ̂; φ(t, u) for u = 1…U_b + 1 (zero beyond); w_t = Σ_u φ(t, u) c_u.
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func forward<T: QuillScalar>(params: UnsafePointer<T>, kappaPrevious: UnsafePointer<T>,
                                        alpha: UnsafeMutablePointer<T>, beta: UnsafeMutablePointer<T>,
                                        kappa: UnsafeMutablePointer<T>, phi: UnsafeMutablePointer<T>,
                                        w: UnsafeMutablePointer<T>, text: UnsafePointer<Int32>,
                                        lengths: UnsafePointer<Int>, positions: UnsafePointer<T>,
                                        batch B: Int, components K: Int,
                                        maxTextLength U: Int, vocabulary V: Int, kappaScale: T) {
        if FusedKernels.appliesToWindow(T.self) {
            qk_window_forward(asFloat(params), asFloat(kappaPrevious), asFloat(alpha), asFloat(beta), asFloat(kappa),
                              asFloat(phi), asFloat(w), text, lengths, Int32(B), Int32(K), Int32(U), Int32(V),
                              Float(Double(kappaScale)))
            return
        }
        for b in 0..<B {
            let pb = params + b * 3 * K
            let a = alpha + b * K, be = beta + b * K, kPrev = kappaPrevious + b * K, k = kappa + b * K
            for j in 0..<K {
                a[j] = T.fastExp(pb[j])
                be[j] = T.fastExp(pb[K + j])
                k[j] = kPrev[j] + kappaScale * T.fastExp(pb[2 * K + j])
            }
            let ph = phi + b * (U + 1)
            let len = lengths[b]
            // φ at u = 1…U_b, plus u = U_b + 1 for the stopping rule; zero beyond. Loops run over u (vectorised).
            ph.update(repeating: 0, count: U + 1)
            for j in 0..<K {
                let aj = a[j], bj = be[j], kj = k[j]
                for u in 0...len { let d = kj - positions[u]; ph[u] += aj * T.fastExp(-bj * d * d) }
            }
            let wb = w + b * V
            wb.update(repeating: 0, count: V)
            let chars = text + b * U
            for u in 0..<len { wb[Int(chars[u])] += ph[u] }
        }
    }

    /// ∂L/∂(α̂, β̂, κ̂) of one step from ∂L/∂w_t, with κ's gradient carried to the step before.
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func backward<T: QuillScalar>(dw: UnsafePointer<T>, params: UnsafePointer<T>, alpha: UnsafePointer<T>,
                                         beta: UnsafePointer<T>, kappa: UnsafePointer<T>,
                                         kappaCarry: UnsafeMutablePointer<T>, dParams: UnsafeMutablePointer<T>,
                                         text: UnsafePointer<Int32>, lengths: UnsafePointer<Int>,
                                         positions: UnsafePointer<T>, scratch: UnsafeMutablePointer<T>,
                                         batch B: Int, components K: Int, maxTextLength U: Int, vocabulary V: Int,
                                         kappaScale: T) {
        if FusedKernels.appliesToWindow(T.self) {
            qk_window_backward(asFloat(dw), asFloat(params), asFloat(alpha), asFloat(beta), asFloat(kappa),
                               asFloat(kappaCarry), asFloat(dParams), text, lengths, Int32(B), Int32(K), Int32(U),
                               Int32(V), Float(Double(kappaScale)))
            return
        }
        for b in 0..<B {
            let a = alpha + b * K, be = beta + b * K, k = kappa + b * K
            let pb = params + b * 3 * K, dpb = dParams + b * 3 * K, carry = kappaCarry + b * K
            let chars = text + b * U, dwb = dw + b * V
            let len = lengths[b]
            // ∂L/∂φ(t, u) is ∂L/∂w_t at character u. Per Gaussian j, sums over u of e = ∂L/∂φ(t,u)·exp(−β_j d²),
            // e·d and e·d², d = κ_j − u: accumulated with u outside and j inside, so the j loop vectorises.
            let s0 = scratch, s1 = scratch + K, s2 = scratch + 2 * K
            scratch.update(repeating: 0, count: 3 * K)
            for u in 0..<len {
                let gu = dwb[Int(chars[u])], pu = positions[u]
                for j in 0..<K {
                    let d = k[j] - pu
                    let e = gu * T.fastExp(-be[j] * d * d)
                    s0[j] += e; s1[j] += e * d; s2[j] += e * d * d
                }
            }
            for j in 0..<K {
                let sE = s0[j], sE1 = s1[j], sE2 = s2[j]
                let dKappa = -2 * a[j] * be[j] * sE1 + carry[j]
                carry[j] = dKappa
                dpb[j] = sE * a[j]
                dpb[K + j] = -a[j] * sE2 * be[j]
                dpb[2 * K + j] = dKappa * kappaScale * T.fastExp(pb[2 * K + j])
            }
        }
    }
}

/// Window activations for up to `steps` steps of a batch of texts of at most `maxTextLength` characters.
public final class WindowWorkspace<T: QuillScalar> {
    public let steps: Int
    public let batch: Int
    public let maxTextLength: Int
    public let components: Int
    public let vocabularySize: Int
    /// (B, U) character indices and the B text lengths.
    public let text: IndexBuffer
    public var lengths: [Int]
    /// (T, B, 3K) window parameters before the transforms, and their gradients.
    public let params: Tensor<T>
    public let dParams: Tensor<T>
    /// (T, B, K)
    public let alpha: Tensor<T>
    public let beta: Tensor<T>
    /// (T+1, B, K): κ[0] is the initial position.
    public let kappa: Tensor<T>
    /// (T, B, U+1): φ(t, u) for u = 1…U+1.
    public let phi: Tensor<T>
    /// (T+1, B, V): w[0] is the window vector before the first step.
    public let w: Tensor<T>
    /// (B, K)
    public let dKappaCarry: Tensor<T>
    /// u = 1…U+1 as scalars, and scratch for the backward sums (3K per row, so rows can run on separate threads).
    let positions: Tensor<T>
    let scratch: Tensor<T>

    public init(window: SoftWindow<T>, steps: Int, batch: Int, maxTextLength: Int) {
        self.steps = steps
        self.batch = batch
        self.maxTextLength = maxTextLength
        components = window.components
        vocabularySize = window.vocabularySize
        let K = components
        text = IndexBuffer(count: batch * maxTextLength)
        lengths = [Int](repeating: 0, count: batch)
        params = Tensor([steps, batch, 3 * K])
        dParams = Tensor([steps, batch, 3 * K])
        alpha = Tensor([steps, batch, K])
        beta = Tensor([steps, batch, K])
        kappa = Tensor([steps + 1, batch, K])
        phi = Tensor([steps, batch, maxTextLength + 1])
        w = Tensor([steps + 1, batch, vocabularySize])
        dKappaCarry = Tensor([batch, K])
        positions = Tensor([maxTextLength + 1])
        for u in 0...maxTextLength { positions[u] = T(u + 1) }
        scratch = Tensor([batch, 3 * K])
    }

    /// Sets row b's text (character indices; at most maxTextLength).
    @_specialize(exported: true, where T == Float)
    public func setText(row b: Int, _ chars: [Int32]) {
        let n = min(chars.count, maxTextLength)
        for u in 0..<n { text.ptr[b * maxTextLength + u] = chars[u] }
        for u in n..<maxTextLength { text.ptr[b * maxTextLength + u] = 0 }
        lengths[b] = n
    }

    /// Zeroes κ₀ and w₀: the window starts before the first character.
    @_specialize(exported: true, where T == Float)
    public func resetState() {
        (kappa.ptr).update(repeating: 0, count: batch * components)
        (w.ptr).update(repeating: 0, count: batch * vocabularySize)
    }

    /// Zeroes batch row `b`'s κ₀ and w₀: that row's window starts again before the first character.
    @_specialize(exported: true, where T == Float)
    public func resetState(row b: Int) {
        (kappa.ptr + b * components).update(repeating: 0, count: components)
        (w.ptr + b * vocabularySize).update(repeating: 0, count: vocabularySize)
    }

    /// Moves the state after `steps` steps to the initial slots (step-by-step sampling).
    @_specialize(exported: true, where T == Float)
    public func carryState(after steps: Int) {
        kappa.ptr.update(from: kappa.ptr + steps * batch * components, count: batch * components)
        w.ptr.update(from: w.ptr + steps * batch * vocabularySize, count: batch * vocabularySize)
    }
}
