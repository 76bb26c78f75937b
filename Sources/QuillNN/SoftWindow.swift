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

    // MARK: - Forward

    /// Step t: reads h¹_t (B, inputSize) and κ_{t−1}, writes α, β, κ_t, φ(t, ·) and w_t.
    public func forwardStep(_ t: Int, h: UnsafePointer<T>, _ ws: WindowWorkspace<T>) {
        let B = ws.batch, K = components, U = ws.maxTextLength, V = vocabularySize
        let p = ws.params.ptr + t * B * 3 * K
        linear.forward(h, rows: B, into: p)
        for b in 0..<B {
            let pb = p + b * 3 * K
            let a = ws.alpha.ptr + (t * B + b) * K, be = ws.beta.ptr + (t * B + b) * K
            let kPrev = ws.kappa.ptr + (t * B + b) * K, k = ws.kappa.ptr + ((t + 1) * B + b) * K
            for j in 0..<K {
                a[j] = T.exp(pb[j])
                be[j] = T.exp(pb[K + j])
                k[j] = kPrev[j] + kappaScale * T.exp(pb[2 * K + j])
            }
            let phi = ws.phi.ptr + (t * B + b) * (U + 1)
            let len = ws.lengths[b]
            // φ at u = 1…U_b, plus u = U_b + 1 for the stopping rule.
            for u in 0...len {
                let uu = T(u + 1)
                var s: T = 0
                for j in 0..<K { let d = k[j] - uu; s += a[j] * T.fastExp(-be[j] * d * d) }
                phi[u] = s
            }
            for u in (len + 1)..<(U + 1) { phi[u] = 0 }
            let w = ws.w.ptr + ((t + 1) * B + b) * V
            w.update(repeating: 0, count: V)
            let chars = ws.text.ptr + b * U
            for u in 0..<len { w[Int(chars[u])] += phi[u] }
        }
    }

    /// w_t for all rows of step t: (B, V). `wPrevious(0)` is the initial window vector.
    public func window(at t: Int, _ ws: WindowWorkspace<T>) -> UnsafeMutablePointer<T> {
        ws.w.ptr + (t + 1) * ws.batch * vocabularySize
    }

    // MARK: - Backward

    /// Starts a backward pass: zeroes the κ gradient carried through time.
    public func beginBackward(_ ws: WindowWorkspace<T>) { ws.dKappaCarry.zero() }

    /// Backward through step t. dw: (B, V) total gradient of w_t. Writes dh (B, inputSize) (overwritten), the
    /// gradient reaching h¹_t through the window, and keeps ∂L/∂p_t for `finishBackward`.
    public func backwardStep(_ t: Int, dw: UnsafePointer<T>, h: UnsafePointer<T>, dh: UnsafeMutablePointer<T>,
                             _ ws: WindowWorkspace<T>) {
        let B = ws.batch, K = components, U = ws.maxTextLength, V = vocabularySize
        let dp = ws.dParams.ptr + t * B * 3 * K
        for b in 0..<B {
            let a = ws.alpha.ptr + (t * B + b) * K, be = ws.beta.ptr + (t * B + b) * K
            let k = ws.kappa.ptr + ((t + 1) * B + b) * K
            let pb = ws.params.ptr + (t * B + b) * 3 * K
            let dpb = dp + b * 3 * K
            let carry = ws.dKappaCarry.ptr + b * K
            let chars = ws.text.ptr + b * U
            let dwb = dw + b * V
            let len = ws.lengths[b]
            for j in 0..<K {
                var sE: T = 0, sE2: T = 0, sE1: T = 0
                for u in 0..<len {
                    let dphi = dwb[Int(chars[u])]
                    if dphi == 0 { continue }
                    let d = k[j] - T(u + 1)
                    let e = dphi * T.fastExp(-be[j] * d * d)
                    sE += e; sE1 += e * d; sE2 += e * d * d
                }
                let dAlpha = sE, dBeta = -a[j] * sE2
                let dKappa = -2 * a[j] * be[j] * sE1 + carry[j]
                carry[j] = dKappa
                dpb[j] = dAlpha * a[j]
                dpb[K + j] = dBeta * be[j]
                dpb[2 * K + j] = dKappa * kappaScale * T.exp(pb[2 * K + j])
            }
        }
        matmul(transB: true, m: B, n: inputSize, k: 3 * K, a: dp, lda: 3 * K, b: linear.weight.value.ptr,
               ldb: 3 * K, c: dh, ldc: inputSize)
    }

    /// Weight gradients over `steps` steps as one GEMM. h: (T, B, inputSize), the inputs of every step.
    public func finishBackward(h: UnsafePointer<T>, _ ws: WindowWorkspace<T>, steps: Int) {
        let rows = steps * ws.batch, K3 = 3 * components
        matmul(transA: true, m: inputSize, n: K3, k: rows, a: h, lda: inputSize, b: ws.dParams.ptr, ldb: K3,
               beta: 1, c: linear.weight.grad.ptr, ldc: K3)
        Kernels.accumulateColumnSums(ws.dParams.ptr, rows: rows, cols: K3, into: linear.bias.grad.ptr)
    }

    /// Graves's stopping rule for row b after step t: φ(t, U+1) exceeds φ(t, u) for every u ≤ U.
    public func finished(_ t: Int, row b: Int, _ ws: WindowWorkspace<T>) -> Bool {
        let len = ws.lengths[b]
        let phi = ws.phi.ptr + (t * ws.batch + b) * (ws.maxTextLength + 1)
        for u in 0..<len where phi[u] >= phi[len] { return false }
        return true
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
    }

    /// Sets row b's text (character indices; at most maxTextLength).
    public func setText(row b: Int, _ chars: [Int32]) {
        let n = min(chars.count, maxTextLength)
        for u in 0..<n { text.ptr[b * maxTextLength + u] = chars[u] }
        for u in n..<maxTextLength { text.ptr[b * maxTextLength + u] = 0 }
        lengths[b] = n
    }

    /// Zeroes κ₀ and w₀: the window starts before the first character.
    public func resetState() {
        (kappa.ptr).update(repeating: 0, count: batch * components)
        (w.ptr).update(repeating: 0, count: batch * vocabularySize)
    }

    /// Moves the state after `steps` steps to the initial slots (step-by-step sampling).
    public func carryState(after steps: Int) {
        kappa.ptr.update(from: kappa.ptr + steps * batch * components, count: batch * components)
        w.ptr.update(from: w.ptr + steps * batch * vocabularySize, count: batch * vocabularySize)
    }
}
