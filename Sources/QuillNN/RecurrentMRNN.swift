import QuillNumerics

/// The MRNN's steps (Sutskever, Martens and Hinton 2011, eqs. 4–6): `RecurrentLayer` runs them for `CellKind.mrnn`.
extension RecurrentLayer {
    /// The MRNN's step t: fh = h_{t−1}·W_fh and f_t = fx ⊙ fh (fx, the projected factors, are `pre`'s last F
    /// columns), then pre_h += f_t·W_hf and h_t = tanh(pre_h). Keeps fh and f_t for backward.
    func mrnnForwardStep(_ t: Int, _ ws: RecurrentWorkspace<T>) {
        let B = ws.batch, H = hiddenSize, G = gateWidth, F = factors
        let pre = ws.preStep(t), fh = ws.factorHiddenStep(t), f = ws.factorStep(t)
        matmul(m: B, n: F, k: H, a: ws.hStep(t), lda: H, b: wh.value.ptr, ldb: F, c: fh, ldc: F)
        for b in 0..<B {
            Kernels.multiply(pre + b * G + H, fh + b * F, into: f + b * F, count: F)
        }
        // Invariant: an MRNN layer always has wf (init).
        matmul(m: B, n: H, k: F, a: f, lda: F, b: wf!.value.ptr, ldb: H, beta: 1, c: pre, ldc: G)
        let h = ws.hStep(t + 1)
        for b in 0..<B { CellKernels.rnnForward(pre: pre + b * G, h: h + b * H, count: H, relu: false) }
    }

    /// The MRNN's backward through step t, with dh (external gradient added) in `ws.dhCarry`: dpre_h = dh ⊙ (1 − h²),
    /// clipped; df = dpre_h·W_hfᵀ; dfx = df ⊙ fh into `dPre`'s factor columns, dfh = df ⊙ fx kept for dW_fh; then
    /// dh_{t−1} = dfh·W_fhᵀ.
    func mrnnBackwardStep(_ t: Int, _ ws: RecurrentWorkspace<T>) {
        let B = ws.batch, H = hiddenSize, G = gateWidth, F = factors
        let dh = ws.dhCarry.ptr, dPre = ws.dPreStep(t), pre = ws.preStep(t), h = ws.hStep(t + 1)
        let fh = ws.factorHiddenStep(t), dfh = ws.dFactorHiddenStep(t)
        for b in 0..<B {
            CellKernels.rnnBackward(h: h + b * H, dh: dh + b * H, dPre: dPre + b * G, count: H, relu: false)
            if let clip = preactivationGradientClip { Kernels.clamp(dPre + b * G, count: H, limit: clip) }
        }
        // Invariant: an MRNN layer always has wf (init).
        matmul(transB: true, m: B, n: F, k: H, a: dPre, lda: G, b: wf!.value.ptr, ldb: H, c: dPre + H, ldc: G)
        for b in 0..<B {
            let df = dPre + b * G + H
            Kernels.multiply(df, pre + b * G + H, into: dfh + b * F, count: F)
            Kernels.multiply(df, fh + b * F, into: df, count: F)
        }
        matmul(transB: true, m: B, n: H, k: F, a: dfh, lda: F, b: wh.value.ptr, ldb: F, c: dh, ldc: H)
    }

    /// The MRNN's weight gradients over `rows` rows beside dW_x: db += Σ dpre_h, dW_fh += h_prevᵀ·dfh and
    /// dW_hf += fᵀ·dpre_h.
    func mrnnFinishBackward(_ ws: RecurrentWorkspace<T>, rows: Int) {
        let H = hiddenSize, G = gateWidth, F = factors
        let dPre = ws.dPre.ptr
        for r in 0..<rows { Kernels.add(dPre + r * G, into: bias.grad.ptr, count: H) }
        // Invariant: an MRNN workspace always has its factor buffers (init).
        matmul(transA: true, m: H, n: F, k: rows, a: ws.h.ptr, lda: H, b: ws.dFactorHidden!.ptr, ldb: F,
               beta: 1, c: wh.grad.ptr, ldc: F)
        // Invariant: an MRNN layer always has wf (init), its workspace the factors (init).
        matmul(transA: true, m: F, n: H, k: rows, a: ws.factor!.ptr, lda: F, b: dPre, ldb: G,
               // Invariant: an MRNN layer has wf, its workspace the factor buffers (init).
               beta: 1, c: wf!.grad.ptr, ldc: H)
    }
}
