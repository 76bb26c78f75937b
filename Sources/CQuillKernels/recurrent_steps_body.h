// The fused recurrent steps at one width (see simd_width.h; recurrent_steps.c includes this once per width): each
// thread's slices of the LSTM, GRU and plain-RNN steps, forward and backward, and the jobs that run them. The panel
// product of the width is VNAME(panels) (C += A · packed panels; the two widths tile it differently, see
// panel_product.c). The maths follows QuillNN's CellKernels operation for operation where that costs nothing, so
// both paths agree to Float rounding. No include guard, on purpose.

/// Backward, second half (after the barrier, once every thread's gradients dRec (B, gates·H) are in): a piece's
/// rows and columns of dh_{t−1} += dRec · W_hᵀ.
VTARGET static void VNAME(carry_dh)(step_args *a, int s, int r0, int r1) {
    const int H = a->H, G = a->recGates * H, u0 = a->sl.bounds[s], w = a->sl.bounds[s + 1] - u0;
    const float *P = qk_slice_panels(a->packed, a->recGates, a->sl.bounds, s, H);
    VNAME(panels)(r1 - r0, w, G, a->dRec + (size_t)r0 * G, G, P, a->dh + (size_t)r0 * H + u0, H);
}

/// Asks for the lines of the `count` floats at p that a backward step is about to write (its fresh gradient rows,
/// each a first write into a large array) two rows before it writes them: in a sequence of steps this took an LSTM
/// backward step's gradient phase from 86k to 75k cycles a thread (C harness, 32 × 400, 2 threads).
VTARGET static inline void VNAME(claim)(float *p, int count) {
    for (int j = 0; j < count; j += 16) vprefetch_write(p + j);
}

/// Rows ahead that VNAME(claim) asks for (2 and 4 measured alike).
#define CLAIM_AHEAD 2

/// v clamped to [−limit, limit].
VTARGET static inline VF VNAME(clamp)(VF v, float limit) { return vmin(vmax(v, vset1(-limit)), vset1(limit)); }

/// The gradient reaching h: the carried dh plus the external one (NULL for none).
VTARGET static inline VF VNAME(total_dh)(const float *dh, const float *ext, int rem) {
    VF d = vld(dh, rem);
    return ext ? vadd(d, vld(ext, rem)) : d;
}

// MARK: LSTM (Graves eqs. 7–11, peepholes optional)

VTARGET static void VNAME(lstm_forward_slice)(step_args *a, int s, int r0, int r1) {
    const int H = a->H, G = 4 * H, u0 = a->sl.bounds[s], w = a->sl.bounds[s + 1] - u0;
    const float *P = qk_slice_panels(a->packed, 4, a->sl.bounds, s, H);
    const size_t gateStride = (size_t)qk_panels(w) * QK_NR * H;
    for (int q = 0; q < 4; q++)
        VNAME(panels)(r1 - r0, w, H, a->hPrev + (size_t)r0 * H, H, P + q * gateStride,
                      a->gates + (size_t)r0 * G + q * H + u0, G);
    for (int b = r0; b < r1; b++) {
        float *gi = a->gates + (size_t)b * G + u0, *gf = gi + H, *gg = gf + H, *go = gg + H;
        const float *cp = a->cPrev + (size_t)b * H + u0;
        float *cb = a->c + (size_t)b * H + u0, *tb = a->tanhC + (size_t)b * H + u0, *hb = a->h + (size_t)b * H + u0;
        // Two passes over the row (in L1), each with few enough live vectors for 16 registers: i, f, g and the
        // new c; then o, tanh c and h. The same operations in the same order as one pass; on a Zen 2 (AVX2) a
        // forward step of 32 × 400 took 327 µs against 340 in one pass (C harness, medians of 10 alternated runs).
        for (int j = 0; j < w; j += VW) {
            const int n = w - j;
            VF vc = vld(cp + j, n), xi = vld(gi + j, n), xf = vld(gf + j, n);
            if (a->peep) {
                const float *pp = a->peep + u0 + j;
                xi = vfmadd(vld(pp, n), vc, xi);
                xf = vfmadd(vld(pp + H, n), vc, xf);
            }
            VF i = vsigmoid(xi), f = vsigmoid(xf), g = vtanh(vld(gg + j, n));
            vst(gi + j, n, i);
            vst(gf + j, n, f);
            vst(gg + j, n, g);
            vst(cb + j, n, vfmadd(f, vc, vmul(i, g)));
        }
        for (int j = 0; j < w; j += VW) {
            const int n = w - j;
            VF cn = vld(cb + j, n), xo = vld(go + j, n);
            if (a->peep) xo = vfmadd(vld(a->peep + 2 * H + u0 + j, n), cn, xo);
            VF o = vsigmoid(xo), tc = vtanh(cn);
            vst(go + j, n, o);
            vst(tb + j, n, tc);
            vst(hb + j, n, vmul(o, tc));
        }
    }
}

VTARGET static void VNAME(lstm_backward_gates)(step_args *a, int s, int r0, int r1) {
    const int H = a->H, G = 4 * H, u0 = a->sl.bounds[s], w = a->sl.bounds[s + 1] - u0;
    const VF one = vset1(1.0f);
    const int clip = a->clip > 0;
    for (int b = r0; b < r1; b++) {
        const float *gi = a->gates + (size_t)b * G + u0, *gf = gi + H, *gg = gf + H, *go = gg + H;
        float *di = a->dGates + (size_t)b * G + u0, *df = di + H, *dg = df + H, *dout = dg + H;
        const float *cp = a->cPrev + (size_t)b * H + u0, *tb = a->tanhC + (size_t)b * H + u0;
        float *dhb = a->dh + (size_t)b * H + u0, *dcb = a->dc + (size_t)b * H + u0;
        const float *ext = a->dhExt ? a->dhExt + (size_t)b * H + u0 : NULL;
        if (b + CLAIM_AHEAD < r1)
            for (int q = 0; q < 4; q++) VNAME(claim)(di + (size_t)CLAIM_AHEAD * G + q * H, w);
        for (int j = 0; j < w; j += VW) {
            const int n = w - j;
            VF i = vld(gi + j, n), f = vld(gf + j, n), g = vld(gg + j, n), o = vld(go + j, n);
            VF tc = vld(tb + j, n), c0 = vld(cp + j, n), d = VNAME(total_dh)(dhb + j, ext ? ext + j : NULL, n);
            VF dO = vmul(vmul(d, tc), vmul(o, vsub(one, o)));
            VF dcs = vfmadd(vmul(d, o), vfnmadd(tc, tc, one), vld(dcb + j, n));
            if (a->peep) dcs = vfmadd(dO, vld(a->peep + 2 * H + u0 + j, n), dcs);
            VF dI = vmul(vmul(dcs, g), vmul(i, vsub(one, i)));
            VF dF = vmul(vmul(dcs, c0), vmul(f, vsub(one, f)));
            VF dG = vmul(vmul(dcs, i), vfnmadd(g, g, one));
            VF dcn = vmul(dcs, f);
            if (a->peep) {
                dcn = vfmadd(dI, vld(a->peep + u0 + j, n), dcn);
                dcn = vfmadd(dF, vld(a->peep + H + u0 + j, n), dcn);
            }
            if (clip) {
                dI = VNAME(clamp)(dI, a->clip);
                dF = VNAME(clamp)(dF, a->clip);
                dG = VNAME(clamp)(dG, a->clip);
                dO = VNAME(clamp)(dO, a->clip);
            }
            vst(di + j, n, dI);
            vst(df + j, n, dF);
            vst(dg + j, n, dG);
            vst(dout + j, n, dO);
            vst(dcb + j, n, dcn);
            // This thread's columns of dh are rewritten by carry_dh, after every thread's dG is in.
            vst(dhb + j, n, vzero());
        }
    }
}

// MARK: GRU (gates r, z, n; n = tanh(x_n + r ⊙ (h·W_hn + b_hn)))

VTARGET static void VNAME(gru_forward_slice)(step_args *a, int s, int r0, int r1) {
    const int H = a->H, G = 3 * H, u0 = a->sl.bounds[s], w = a->sl.bounds[s + 1] - u0;
    const float *P = qk_slice_panels(a->packed, 3, a->sl.bounds, s, H);
    const size_t gateStride = (size_t)qk_panels(w) * QK_NR * H;
    for (int b = r0; b < r1; b++)
        for (int q = 0; q < 3; q++) memset(a->hg + (size_t)b * G + q * H + u0, 0, (size_t)w * sizeof(float));
    for (int q = 0; q < 3; q++)
        VNAME(panels)(r1 - r0, w, H, a->hPrev + (size_t)r0 * H, H, P + q * gateStride,
                      a->hg + (size_t)r0 * G + q * H + u0, G);
    const VF one = vset1(1.0f);
    for (int b = r0; b < r1; b++) {
        float *xr = a->pre + (size_t)b * G + u0, *xz = xr + H, *xn = xz + H;
        float *hr = a->hg + (size_t)b * G + u0, *hz = hr + H, *hn = hz + H;
        const float *br = a->biasH + u0, *bz = br + H, *bn = bz + H;
        const float *hp = a->hPrev + (size_t)b * H + u0;
        float *hb = a->h + (size_t)b * H + u0;
        for (int j = 0; j < w; j += VW) {
            const int n = w - j;
            // hg = h·W_h + b_h, kept for backward.
            VF vr = vadd(vld(hr + j, n), vld(br + j, n));
            VF vz = vadd(vld(hz + j, n), vld(bz + j, n));
            VF vn = vadd(vld(hn + j, n), vld(bn + j, n));
            vst(hr + j, n, vr);
            vst(hz + j, n, vz);
            vst(hn + j, n, vn);
            VF r = vsigmoid(vadd(vld(xr + j, n), vr));
            VF z = vsigmoid(vadd(vld(xz + j, n), vz));
            VF nn = vtanh(vfmadd(r, vn, vld(xn + j, n)));
            VF hNew = vfmadd(z, vld(hp + j, n), vmul(vsub(one, z), nn));
            vst(xr + j, n, r);
            vst(xz + j, n, z);
            vst(xn + j, n, nn);
            vst(hb + j, n, hNew);
        }
    }
}

VTARGET static void VNAME(gru_backward_gates)(step_args *a, int s, int r0, int r1) {
    const int H = a->H, G = 3 * H, u0 = a->sl.bounds[s], w = a->sl.bounds[s + 1] - u0;
    const VF one = vset1(1.0f);
    const int clip = a->clip > 0;
    for (int b = r0; b < r1; b++) {
        const float *ar = a->act + (size_t)b * G + u0, *az = ar + H, *an = az + H;
        const float *hn = a->hgIn + (size_t)b * G + 2 * H + u0;
        float *dxr = a->dPre + (size_t)b * G + u0, *dhr = a->dhg + (size_t)b * G + u0;
        const float *hp = a->hPrev + (size_t)b * H + u0;
        float *dhb = a->dh + (size_t)b * H + u0;
        const float *ext = a->dhExt ? a->dhExt + (size_t)b * H + u0 : NULL;
        if (b + CLAIM_AHEAD < r1)
            for (int q = 0; q < 3; q++) {
                VNAME(claim)(dxr + (size_t)CLAIM_AHEAD * G + q * H, w);
                VNAME(claim)(dhr + (size_t)CLAIM_AHEAD * G + q * H, w);
            }
        for (int j = 0; j < w; j += VW) {
            const int n = w - j;
            VF r = vld(ar + j, n), z = vld(az + j, n), nv = vld(an + j, n);
            VF d = VNAME(total_dh)(dhb + j, ext ? ext + j : NULL, n);
            VF dn = vmul(vmul(d, vsub(one, z)), vfnmadd(nv, nv, one));
            VF dHn = vmul(d, vsub(vld(hp + j, n), nv));
            VF dz = vmul(vmul(dHn, z), vsub(one, z));
            VF dr = vmul(vmul(vmul(dn, vld(hn + j, n)), r), vsub(one, r));
            VF dhnv = vmul(dn, r);
            if (clip) {
                dr = VNAME(clamp)(dr, a->clip);
                dz = VNAME(clamp)(dz, a->clip);
                dn = VNAME(clamp)(dn, a->clip);
                dhnv = VNAME(clamp)(dhnv, a->clip);
            }
            // Both sides share the r and z gradients; the recurrent side's n gradient is r ⊙ dn.
            vst(dxr + j, n, dr);
            vst(dxr + H + j, n, dz);
            vst(dxr + 2 * H + j, n, dn);
            vst(dhr + j, n, dr);
            vst(dhr + H + j, n, dz);
            vst(dhr + 2 * H + j, n, dhnv);
            // The part of dh_{t−1} that skips the weights, z ⊙ dh; carry_dh adds dhg · W_hᵀ to it.
            vst(dhb + j, n, vmul(d, z));
        }
    }
}

// MARK: Plain RNN (h = tanh or relu of x·W_x + b + h·W_h)

VTARGET static void VNAME(rnn_forward_slice)(step_args *a, int s, int r0, int r1) {
    const int H = a->H, u0 = a->sl.bounds[s], w = a->sl.bounds[s + 1] - u0;
    VNAME(panels)(r1 - r0, w, H, a->hPrev + (size_t)r0 * H, H, qk_slice_panels(a->packed, 1, a->sl.bounds, s, H),
                  a->pre + (size_t)r0 * H + u0, H);
    const VF zero = vzero();
    for (int b = r0; b < r1; b++) {
        float *pb = a->pre + (size_t)b * H + u0, *hb = a->h + (size_t)b * H + u0;
        for (int j = 0; j < w; j += VW) {
            const int n = w - j;
            VF v = vld(pb + j, n);
            v = a->relu ? vmax(v, zero) : vtanh(v);
            vst(pb + j, n, v);
            vst(hb + j, n, v);
        }
    }
}

VTARGET static void VNAME(rnn_backward_slice)(step_args *a, int s, int r0, int r1) {
    const int H = a->H, u0 = a->sl.bounds[s], w = a->sl.bounds[s + 1] - u0;
    const VF one = vset1(1.0f), zero = vzero();
    const int clip = a->clip > 0;
    for (int b = r0; b < r1; b++) {
        const float *hb = a->hOut + (size_t)b * H + u0;
        const float *ext = a->dhExt ? a->dhExt + (size_t)b * H + u0 : NULL;
        float *dhb = a->dh + (size_t)b * H + u0, *dp = a->dPre + (size_t)b * H + u0;
        if (b + CLAIM_AHEAD < r1) VNAME(claim)(dp + (size_t)CLAIM_AHEAD * H, w);
        for (int j = 0; j < w; j += VW) {
            const int n = w - j;
            VF d = VNAME(total_dh)(dhb + j, ext ? ext + j : NULL, n), hv = vld(hb + j, n);
            VF g = a->relu ? vkeep_gt(hv, zero, d) : vmul(d, vfnmadd(hv, hv, one));
            if (clip) g = VNAME(clamp)(g, a->clip);
            vst(dp + j, n, g);
            // Rewritten by carry_dh once every thread's dPre is in.
            vst(dhb + j, n, zero);
        }
    }
}

// MARK: Jobs: thread `tid` of `n` takes the pieces of planned threads tid, tid + n, … (for_pieces, which passes
// only pieces with rows and units, so the piece functions above need not check)

static void VNAME(lstm_forward_job)(void *p, int tid, int n) { for_pieces(p, tid, n, VNAME(lstm_forward_slice)); }
static void VNAME(lstm_backward_job)(void *p, int tid, int n) {
    for_pieces(p, tid, n, VNAME(lstm_backward_gates));
    qk_pool_barrier(n);
    for_pieces(p, tid, n, VNAME(carry_dh));
}
static void VNAME(gru_forward_job)(void *p, int tid, int n) { for_pieces(p, tid, n, VNAME(gru_forward_slice)); }
static void VNAME(gru_backward_job)(void *p, int tid, int n) {
    for_pieces(p, tid, n, VNAME(gru_backward_gates));
    qk_pool_barrier(n);
    for_pieces(p, tid, n, VNAME(carry_dh));
}
static void VNAME(rnn_forward_job)(void *p, int tid, int n) { for_pieces(p, tid, n, VNAME(rnn_forward_slice)); }
static void VNAME(rnn_backward_job)(void *p, int tid, int n) {
    for_pieces(p, tid, n, VNAME(rnn_backward_slice));
    qk_pool_barrier(n);
    for_pieces(p, tid, n, VNAME(carry_dh));
}

#undef CLAIM_AHEAD
