import QuillNumerics

/// Pearlmutter's (1994) R-pass through a recurrent layer: the directional derivative of its outputs along a direction
/// in weight space, the forward half of the Gauss–Newton products of Hessian-free optimisation (Martens 2010;
/// Martens and Sutskever 2011, "Learning recurrent neural networks with Hessian-free optimization", §4).
extension RecurrentLayer {
    /// Whether `rForward` implements this layer: tanh and ReLU RNNs, the MRNN and the LSTM without peepholes, none
    /// layer-normalised.
    public var hasRPass: Bool {
        layerNorm == nil && (kind == .rnn || kind == .rnnRelu || kind == .mrnn || (kind == .lstm && peephole == nil))
    }

    /// R{h_t} = (∂h_t/∂θ)·v + (∂h_t/∂x)·R{x} for every step of the last forward pass over `x`, the state it started
    /// from held constant (as truncated backpropagation holds it).
    ///
    /// RNN: R{a_t} = R{x_t}·W_x + x_t·V_x + V_b + R{h_{t−1}}·W_h + h_{t−1}·V_h, R{h_t} = φ'(a_t) ⊙ R{a_t}.
    /// MRNN (Sutskever et al. 2011, eqs. 4–6): with fx = x·W_fx, fh = h_{t−1}·W_fh and f = fx ⊙ fh,
    /// R{f} = R{fx} ⊙ fh + fx ⊙ R{fh}, R{a_t} = R{f}·W_hf + f·V_hf + R{x}·W_hx + x·V_hx + V_b.
    /// LSTM: R{a_t} as the RNN's over the four gate blocks, then R{i} = i(1 − i) R{a_i} (f, o alike), R{g} = (1 − g²)
    /// R{a_g}, R{c_t} = R{f} c_{t−1} + f R{c_{t−1}} + R{i} g + i R{g}, R{h_t} = R{o} tanh c_t + o (1 − tanh² c_t) R{c_t}.
    /// - Parameters:
    ///   - x: the layer's input to that forward pass, (T, B, inputSize).
    ///   - rx: R{x}, (T, B, inputSize), or nil when the input does not depend on θ.
    ///   - v: the direction, one tensor per entry of `parameters`, of the same shapes.
    ///   - rh: R{h_t} out, (T, B, H).
    /// - Precondition: `hasRPass`.
    @_specialize(exported: true, where T == Float)
    public func rForward(_ x: UnsafePointer<T>, rx: UnsafePointer<T>?, _ ws: RecurrentWorkspace<T>,
                         direction v: [Tensor<T>], into rh: UnsafeMutablePointer<T>) {
        precondition(hasRPass && v.count == parameters.count, "no R-pass for this layer, or a direction of another shape")
        let steps = ws.activeSteps, B = ws.batch, H = hiddenSize, G = gateWidth, I = inputSize
        let rows = steps * B
        // R{x·W_x + b}: every step at once.
        let ra = Tensor<T>([rows, G])
        matmul(m: rows, n: G, k: I, a: x, lda: I, b: v[0].ptr, ldb: G, c: ra.ptr, ldc: G)
        if let rx { matmul(m: rows, n: G, k: I, a: rx, lda: I, b: wx.value.ptr, ldb: G, beta: 1, c: ra.ptr, ldc: G) }
        for r in 0..<rows { Kernels.add(v[2].ptr, into: ra.ptr + r * G, count: kind == .mrnn ? H : G) }
        let vh = v[1].ptr, recurrentWidth = wh.value.shape[1]
        /// c += h_{t−1}·V_h + R{h_{t−1}}·W_h, (B, width of W_h): every cell's recurrent term (R{h_{−1}} = 0).
        func addRecurrent(_ t: Int, into c: UnsafeMutablePointer<T>, ldc: Int) {
            matmul(m: B, n: recurrentWidth, k: H, a: ws.hStep(t), lda: H, b: vh, ldb: recurrentWidth, beta: 1, c: c, ldc: ldc)
            if t > 0 {
                matmul(m: B, n: recurrentWidth, k: H, a: rh + (t - 1) * B * H, lda: H, b: wh.value.ptr,
                       ldb: recurrentWidth, beta: 1, c: c, ldc: ldc)
            }
        }
        switch kind {
        case .mrnn:
            let F = factors
            // Invariant: an MRNN layer has wf (init); its direction has the same tensors, wf fourth (`parameters`).
            let whf = wf!.value.ptr, vhf = v[3].ptr
            let rfh = Tensor<T>([B, F]), rf = Tensor<T>([B, F])
            for t in 0..<steps {
                let raT = ra.ptr + t * B * G
                rfh.zero()
                addRecurrent(t, into: rfh.ptr, ldc: F)
                let pre = ws.preStep(t), fh = ws.factorHiddenStep(t), f = ws.factorStep(t)
                for b in 0..<B {
                    for k in 0..<F {
                        rf[b * F + k] = raT[b * G + H + k] * fh[b * F + k] + pre[b * G + H + k] * rfh[b * F + k]
                    }
                }
                matmul(m: B, n: H, k: F, a: rf.ptr, lda: F, b: whf, ldb: H, beta: 1, c: raT, ldc: G)
                matmul(m: B, n: H, k: F, a: f, lda: F, b: vhf, ldb: H, beta: 1, c: raT, ldc: G)
                let h = ws.hStep(t + 1)
                for b in 0..<B {
                    for j in 0..<H { rh[(t * B + b) * H + j] = (1 - h[b * H + j] * h[b * H + j]) * raT[b * G + j] }
                }
            }
        case .rnn, .rnnRelu:
            for t in 0..<steps {
                let raT = ra.ptr + t * B * H
                addRecurrent(t, into: raT, ldc: H)
                let h = ws.hStep(t + 1), out = rh + t * B * H
                for i in 0..<(B * H) {
                    out[i] = kind == .rnnRelu ? (h[i] > 0 ? raT[i] : 0) : (1 - h[i] * h[i]) * raT[i]
                }
            }
        case .lstm:
            let rc = Tensor<T>([B, H])
            for t in 0..<steps {
                let raT = ra.ptr + t * B * G
                addRecurrent(t, into: raT, ldc: G)
                // The forward pass left the activated gates (i, f, g, o) in `pre`.
                let act = ws.preStep(t), cPrev = ws.cStep(t), tc = ws.tanhCStep(t)
                for b in 0..<B {
                    for j in 0..<H {
                        let r = b * G + j
                        let i = act[r], f = act[r + H], g = act[r + 2 * H], o = act[r + 3 * H]
                        let ri = i * (1 - i) * raT[r], rf = f * (1 - f) * raT[r + H]
                        let rg = (1 - g * g) * raT[r + 2 * H], ro = o * (1 - o) * raT[r + 3 * H]
                        let c = rf * cPrev[b * H + j] + f * rc[b * H + j] + ri * g + i * rg
                        rc[b * H + j] = c
                        let th = tc[b * H + j]
                        rh[(t * B + b) * H + j] = ro * th + o * (1 - th * th) * c
                    }
                }
            }
        default:
            preconditionFailure("no R-pass for \(kind.rawValue) (hasRPass)")
        }
    }
}
