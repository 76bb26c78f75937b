import QuillNumerics

/// The layer-normalised LSTM's steps (Ba, Kiros and Hinton 2016; `LayerNorm`, `LayerNormParameters`):
/// `RecurrentLayer` runs them for an LSTM layer built with `layerNorm`.
extension RecurrentLayer {
    /// The input side of a layer-normalised LSTM over `rows` rows from step t: x·W_x, normalised per row (kept, with
    /// 1/σ), times g_x, plus b, into `pre`.
    func layerNormProject(_ x: UnsafePointer<T>, rows: Int, _ ws: RecurrentWorkspace<T>, at t: Int) {
        let G = gateWidth
        // Invariant: called for layer-normalised layers, whose workspaces have the normalisation buffers (init).
        let ln = layerNorm!, xn = ws.inputNormStep(t), pre = ws.preStep(t)
        matmul(m: rows, n: G, k: inputSize, a: x, lda: inputSize, b: wx.value.ptr, ldb: G, c: xn, ldc: G)
        // Invariant: a layer built with layerNorm has its parameters, its workspace the normalisation buffers (init).
        LayerNorm.normalize(xn, rows: rows, width: G, stride: G, inverseSigma: ws.inputInverseSigma!.ptr + t * ws.batch)
        let gain = ln.inputGain.value.ptr, b = bias.value.ptr
        for r in 0..<rows {
            for j in 0..<G { pre[r * G + j] = gain[j] * xn[r * G + j] + b[j] }
        }
    }

    /// A layer-normalised LSTM's step t (Ba et al. 2016, eqs. 20–22), its input side already in `pre`: adds
    /// g_h ⊙ LN(h_{t−1}·W_h), activates the gates, c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(g_c ⊙ LN(c_t) + b_c).
    /// Keeps the normalised products and cell, and their 1/σ, for backward.
    func layerNormForwardStep(_ t: Int, _ ws: RecurrentWorkspace<T>) {
        let B = ws.batch, H = hiddenSize, G = gateWidth
        // Invariant: called for layer-normalised layers, whose workspaces have the normalisation buffers (init).
        let ln = layerNorm!, pre = ws.preStep(t), hn = ws.recurrentNormStep(t), cn = ws.cellNormStep(t)
        matmul(m: B, n: G, k: H, a: ws.hStep(t), lda: H, b: wh.value.ptr, ldb: G, c: hn, ldc: G)
        // Invariant: a layer built with layerNorm has its parameters, its workspace the normalisation buffers (init).
        LayerNorm.normalize(hn, rows: B, width: G, stride: G, inverseSigma: ws.recurrentInverseSigma!.ptr + t * B)
        let gh = ln.recurrentGain.value.ptr, gc = ln.cellGain.value.ptr, bc = ln.cellBias.value.ptr
        let cPrev = ws.cStep(t), c = ws.cStep(t + 1), tanhC = ws.tanhCStep(t), h = ws.hStep(t + 1)
        for b in 0..<B {
            let row = pre + b * G, hRow = hn + b * G
            for j in 0..<G { row[j] += gh[j] * hRow[j] }
            Kernels.sigmoidInPlace(row, count: 2 * H)
            Kernels.tanhInPlace(row + 2 * H, count: H)
            Kernels.sigmoidInPlace(row + 3 * H, count: H)
            for j in 0..<H { c[b * H + j] = row[H + j] * cPrev[b * H + j] + row[j] * row[2 * H + j] }
        }
        cn.update(from: c, count: B * H)
        // Invariant: a layer built with layerNorm has its parameters, its workspace the normalisation buffers (init).
        LayerNorm.normalize(cn, rows: B, width: H, stride: H, inverseSigma: ws.cellInverseSigma!.ptr + t * B)
        for b in 0..<B {
            for j in 0..<H { tanhC[b * H + j] = gc[j] * cn[b * H + j] + bc[j] }
        }
        Kernels.tanhInPlace(tanhC, count: B * H)
        for b in 0..<B {
            Kernels.multiply(pre + b * G + 3 * H, tanhC + b * H, into: h + b * H, count: H)
        }
    }

    /// A layer-normalised LSTM's backward through step t, with dh_t (external gradient added) in `ws.dhCarry` and
    /// dc_t in `ws.dcCarry`: through o ⊙ tanh(g_c ⊙ ĉ + b_c) and the cell's normalisation to the gates; the gains' and
    /// b's gradients; then through both normalisations, leaving ∂L/∂(x·W_x) in `dPre` and ∂L/∂(h_{t−1}·W_h) in `dhg`,
    /// and dc_{t−1} in `ws.dcCarry`.
    func layerNormBackwardCell(_ t: Int, _ ws: RecurrentWorkspace<T>) {
        let B = ws.batch, H = hiddenSize, G = gateWidth
        // Invariant: called for layer-normalised LSTM layers, whose workspaces have dcCarry and the buffers (init).
        let ln = layerNorm!, dc = ws.dcCarry!.ptr, dh = ws.dhCarry.ptr, dcHat = ws.scratchBH.ptr
        let gates = ws.preStep(t), cPrev = ws.cStep(t), tanhC = ws.tanhCStep(t), cn = ws.cellNormStep(t)
        let xn = ws.inputNormStep(t), hn = ws.recurrentNormStep(t), dPre = ws.dPreStep(t), dhw = ws.dhgStep(t)
        let gx = ln.inputGain.value.ptr, gh = ln.recurrentGain.value.ptr, gc = ln.cellGain.value.ptr
        let dgx = ln.inputGain.grad.ptr, dgh = ln.recurrentGain.grad.ptr
        let dgc = ln.cellGain.grad.ptr, dbc = ln.cellBias.grad.ptr, db = bias.grad.ptr
        for b in 0..<B {
            let g = gates + b * G, d = dPre + b * G, r = b * H
            for j in 0..<H {
                let o = g[3 * H + j], tc = tanhC[r + j], dhj = dh[r + j]
                d[3 * H + j] = dhj * tc * o * (1 - o)
                let dz = dhj * o * (1 - tc * tc)
                dgc[j] += dz * cn[r + j]
                dbc[j] += dz
                dcHat[r + j] = dz * gc[j]
            }
            // Invariant: a layer built with layerNorm has its parameters, its workspace the normalisation buffers (init).
            LayerNorm.backward(normalized: cn + r, inverseSigma: ws.cellInverseSigma![t * B + b],
                               dNormalized: dcHat + r, into: dcHat + r, width: H)
            for j in 0..<H {
                let i = g[j], f = g[H + j], gg = g[2 * H + j]
                let dcs = dc[r + j] + dcHat[r + j]
                d[j] = dcs * gg * i * (1 - i)
                d[H + j] = dcs * cPrev[r + j] * f * (1 - f)
                d[2 * H + j] = dcs * i * (1 - gg * gg)
                dc[r + j] = dcs * f
            }
            let x = xn + b * G, hRow = hn + b * G, dw = dhw + b * G
            for j in 0..<G {
                let v = d[j]
                db[j] += v
                dgx[j] += v * x[j]
                dgh[j] += v * hRow[j]
                dw[j] = v * gh[j]
                d[j] = v * gx[j]
            }
            // Invariant: a layer built with layerNorm has its parameters, its workspace the normalisation buffers (init).
            LayerNorm.backward(normalized: hRow, inverseSigma: ws.recurrentInverseSigma![t * B + b], dNormalized: dw,
                               into: dw, width: G)
            // Invariant: a layer built with layerNorm has its parameters, its workspace the normalisation buffers (init).
            LayerNorm.backward(normalized: x, inverseSigma: ws.inputInverseSigma![t * B + b], dNormalized: d, into: d,
                               width: G)
        }
    }
}
