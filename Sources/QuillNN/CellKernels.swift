import QuillNumerics

/// Pointwise maths of the recurrent cells for one timestep over a batch, fused: forward and backward.
///
/// Gate order is fixed everywhere in Quill: LSTM (i, f, g, o); GRU (r, z, n). Buffers are (B, gates·H) rows.
public enum CellKernels {
    // MARK: - LSTM (Graves eqs. 7–11; peepholes optional)

    /// Activates the LSTM gates in place and computes the new cell and output.
    /// - gates: (B, 4H) pre-activations in, activated (i, f, g, o) out.
    /// - cPrev, c, tanhC, h: (B, H).
    /// - peepholes: nil, or (3H) Graves's diagonal peephole weights (w_ci, w_cf, w_co): i and f also see c_{t−1},
    ///   o sees c_t (eqs. 7–11).
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func lstmForward<T: QuillScalar>(gates: UnsafeMutablePointer<T>, cPrev: UnsafePointer<T>,
                                                   c: UnsafeMutablePointer<T>, tanhC: UnsafeMutablePointer<T>,
                                                   h: UnsafeMutablePointer<T>, batch: Int, hidden H: Int,
                                                   peepholes: UnsafePointer<T>? = nil) {
        // Several short passes with one or two pointers each: a single fused loop over eight pointers defeats the
        // vectoriser's alias checks, and these rows stay in L1 between passes.
        for b in 0..<batch {
            let gi = gates + b * 4 * H, gf = gi + H, gg = gf + H, go = gg + H
            let cp = cPrev + b * H, cb = c + b * H, tb = tanhC + b * H, hb = h + b * H
            if let p = peepholes {
                for j in 0..<H { gi[j] += p[j] * cp[j] }
                for j in 0..<H { gf[j] += p[H + j] * cp[j] }
            }
            Kernels.sigmoidInPlace(gi, count: 2 * H)
            Kernels.tanhInPlace(gg, count: H)
            for j in 0..<H { cb[j] = gf[j] * cp[j] + gi[j] * gg[j] }
            if let p = peepholes {
                for j in 0..<H { go[j] += p[2 * H + j] * cb[j] }
            }
            Kernels.sigmoidInPlace(go, count: H)
            Kernels.tanh(cb, into: tb, count: H)
            Kernels.multiply(go, tb, into: hb, count: H)
        }
    }

    /// Backward through one LSTM step.
    /// - gates: (B, 4H) activated gates from the forward pass.
    /// - dh: (B, H) total gradient reaching h_t.
    /// - dc: (B, H) gradient reaching c_t from step t+1 in; gradient reaching c_{t-1} out.
    /// - dGates: (B, 4H) gradient with respect to the gate pre-activations, out.
    /// - peepholes: the forward pass's peephole weights, or nil (their own gradient is summed over all steps by
    ///   `peepholeGradients`).
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func lstmBackward<T: QuillScalar>(gates: UnsafePointer<T>, cPrev: UnsafePointer<T>,
                                                    tanhC: UnsafePointer<T>, dh: UnsafePointer<T>,
                                                    dc: UnsafeMutablePointer<T>, dGates: UnsafeMutablePointer<T>,
                                                    batch: Int, hidden H: Int, peepholes: UnsafePointer<T>? = nil) {
        for b in 0..<batch {
            let gi = gates + b * 4 * H, gf = gi + H, gg = gf + H, go = gg + H
            let di = dGates + b * 4 * H, df = di + H, dg = df + H, dout = dg + H
            let cp = cPrev + b * H, tb = tanhC + b * H, dhb = dh + b * H, dcb = dc + b * H
            if let p = peepholes {
                let pi = p, pf = p + H, po = p + 2 * H
                for j in 0..<H {
                    let i = gi[j], f = gf[j], g = gg[j], o = go[j], tc = tb[j], d = dhb[j]
                    let dO = d * tc * o * (1 - o)
                    let dcs = dcb[j] + d * o * (1 - tc * tc) + dO * po[j]
                    let dI = dcs * g * i * (1 - i), dF = dcs * cp[j] * f * (1 - f)
                    dout[j] = dO
                    di[j] = dI
                    df[j] = dF
                    dg[j] = dcs * i * (1 - g * g)
                    dcb[j] = dcs * f + dI * pi[j] + dF * pf[j]
                }
                continue
            }
            for j in 0..<H {
                let i = gi[j], f = gf[j], g = gg[j], o = go[j], tc = tb[j], d = dhb[j]
                let dcs = dcb[j] + d * o * (1 - tc * tc)
                dout[j] = d * tc * o * (1 - o)
                di[j] = dcs * g * i * (1 - i)
                df[j] = dcs * cp[j] * f * (1 - f)
                dg[j] = dcs * i * (1 - g * g)
                dcb[j] = dcs * f
            }
        }
    }

    /// Peephole weight gradients over `rows` rows (all steps at once): ∂w_ci += Σ ∂i·c_{t−1}, ∂w_cf += Σ ∂f·c_{t−1},
    /// ∂w_co += Σ ∂o·c_t. dGates: (rows, 4H); cPrev, c: (rows, H); grad: (3H), accumulated.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func peepholeGradients<T: QuillScalar>(dGates: UnsafePointer<T>, cPrev: UnsafePointer<T>,
                                                         c: UnsafePointer<T>, rows: Int, hidden H: Int,
                                                         into grad: UnsafeMutablePointer<T>) {
        for r in 0..<rows {
            let di = dGates + r * 4 * H, df = di + H, dout = di + 3 * H
            let cp = cPrev + r * H, cb = c + r * H
            for j in 0..<H { grad[j] += di[j] * cp[j] }
            for j in 0..<H { grad[H + j] += df[j] * cp[j] }
            for j in 0..<H { grad[2 * H + j] += dout[j] * cb[j] }
        }
    }

    // MARK: - GRU

    /// GRU step: r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r ⊙ h_n), h = (1 − z) ⊙ n + z ⊙ h_prev.
    /// - xg: (B, 3H) input-side pre-activations in, activated (r, z, n) out.
    /// - hg: (B, 3H) recurrent-side pre-activations (h_prev·W_h + b_h), unchanged.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func gruForward<T: QuillScalar>(xg: UnsafeMutablePointer<T>, hg: UnsafePointer<T>,
                                                  hPrev: UnsafePointer<T>, h: UnsafeMutablePointer<T>,
                                                  batch: Int, hidden H: Int) {
        for b in 0..<batch {
            let xr = xg + b * 3 * H, xz = xr + H, xn = xz + H
            let hr = hg + b * 3 * H, hz = hr + H, hn = hz + H
            let hp = hPrev + b * H, hb = h + b * H
            for j in 0..<H {
                let r = T.fastSigmoid(xr[j] + hr[j])
                let z = T.fastSigmoid(xz[j] + hz[j])
                let n = T.fastTanh(xn[j] + r * hn[j])
                xr[j] = r; xz[j] = z; xn[j] = n
                hb[j] = (1 - z) * n + z * hp[j]
            }
        }
    }

    /// Backward through one GRU step.
    /// - act: (B, 3H) activated (r, z, n); hg: (B, 3H) recurrent pre-activations.
    /// - dh: (B, H) total gradient reaching h_t.
    /// - dxg, dhg: (B, 3H) gradients of the input-side and recurrent-side pre-activations, out.
    /// - dhPrevDirect: (B, H) the part of dh_{t-1} that skips the weights (z ⊙ dh), out.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func gruBackward<T: QuillScalar>(act: UnsafePointer<T>, hg: UnsafePointer<T>,
                                                   hPrev: UnsafePointer<T>, dh: UnsafePointer<T>,
                                                   dxg: UnsafeMutablePointer<T>, dhg: UnsafeMutablePointer<T>,
                                                   dhPrevDirect: UnsafeMutablePointer<T>,
                                                   batch: Int, hidden H: Int) {
        for b in 0..<batch {
            let ar = act + b * 3 * H, az = ar + H, an = az + H
            let hn = hg + b * 3 * H + 2 * H
            let dxr = dxg + b * 3 * H, dxz = dxr + H, dxn = dxz + H
            let dhr = dhg + b * 3 * H, dhz = dhr + H, dhn = dhz + H
            let hp = hPrev + b * H, d = dh + b * H, dp = dhPrevDirect + b * H
            for j in 0..<H {
                let r = ar[j], z = az[j], n = an[j], dj = d[j]
                let dnPre = dj * (1 - z) * (1 - n * n)
                let dzPre = dj * (hp[j] - n) * z * (1 - z)
                let drPre = dnPre * hn[j] * r * (1 - r)
                dxr[j] = drPre; dxz[j] = dzPre; dxn[j] = dnPre
                dhr[j] = drPre; dhz[j] = dzPre; dhn[j] = dnPre * r
                dp[j] = dj * z
            }
        }
    }

    // MARK: - Vanilla RNN

    /// h = tanh(pre) or relu(pre), in place on `pre` and copied to `h`.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func rnnForward<T: QuillScalar>(pre: UnsafeMutablePointer<T>, h: UnsafeMutablePointer<T>,
                                                  count n: Int, relu: Bool) {
        if relu {
            for j in 0..<n { let v = Swift.max(pre[j], 0); pre[j] = v; h[j] = v }
        } else {
            for j in 0..<n { let v = T.fastTanh(pre[j]); pre[j] = v; h[j] = v }
        }
    }

    /// dPre = dh ⊙ act'(h), with the activation's output `h` from the forward pass.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func rnnBackward<T: QuillScalar>(h: UnsafePointer<T>, dh: UnsafePointer<T>,
                                                   dPre: UnsafeMutablePointer<T>, count n: Int, relu: Bool) {
        if relu {
            for j in 0..<n { dPre[j] = h[j] > 0 ? dh[j] : 0 }
        } else {
            for j in 0..<n { dPre[j] = dh[j] * (1 - h[j] * h[j]) }
        }
    }
}
