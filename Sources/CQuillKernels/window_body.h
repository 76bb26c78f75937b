// Graves's soft window (section 5, eqs. 46–51), one step forward and back over a range of batch rows, at one
// width (see simd_width.h; window.c includes this once per width). The loops over characters u run VW lanes at a
// time with the K Gaussians inside; the backward sums gather ∂L/∂w at each character's index. No include guard, on
// purpose.

/// u + 1 for lanes u0 … u0 + VW − 1: the character positions.
VTARGET static inline VF VNAME(positions)(int u0) { return vadd(vset1((float)(u0 + 1)), viota()); }

VTARGET static void VNAME(window_forward)(const float *params, const float *kappaPrevious, float *alpha, float *beta,
                                          float *kappa, float *phi, float *w, const int *text, const long *lengths,
                                          int batch, int K, int U, int V, float kappaScale) {
    for (int b = 0; b < batch; b++) {
        const float *p = params + (size_t)b * 3 * K, *kp = kappaPrevious + (size_t)b * K;
        float *a = alpha + (size_t)b * K, *be = beta + (size_t)b * K, *k = kappa + (size_t)b * K;
        for (int j = 0; j < K; j += VW) {
            const int n = K - j;
            vst(a + j, n, vexp(vld(p + j, n)));
            vst(be + j, n, vexp(vld(p + K + j, n)));
            VF step = vmul(vset1(kappaScale), vexp(vld(p + 2 * K + j, n)));
            vst(k + j, n, vadd(vld(kp + j, n), step));
        }
        int len = (int)lengths[b];
        float *ph = phi + (size_t)b * (U + 1);
        // φ(t, u) at u = 1 … len + 1 (the last for the stopping rule), zero beyond.
        for (int u0 = 0; u0 <= U; u0 += VW) {
            const int live = len + 1 - u0;
            VF acc = vzero();
            if (live > 0) {
                VF pos = VNAME(positions)(u0);
                for (int j = 0; j < K; j++) {
                    VF d = vsub(vset1(k[j]), pos);
                    VF e = vexp(vmul(vset1(-be[j]), vmul(d, d)));
                    acc = vfmadd(vset1(a[j]), e, acc);
                }
                acc = vkeep_first(acc, live);
            }
            vst(ph + u0, U + 1 - u0, acc);
        }
        float *wb = w + (size_t)b * V;
        for (int v = 0; v < V; v++) wb[v] = 0;
        const int *chars = text + (size_t)b * U;
        for (int u = 0; u < len; u++) wb[chars[u]] += ph[u];
    }
}

VTARGET static void VNAME(window_backward)(const float *dw, const float *params, const float *alpha,
                                           const float *beta, const float *kappa, float *kappaCarry, float *dParams,
                                           const int *text, const long *lengths, int batch, int K, int U, int V,
                                           float kappaScale) {
    for (int b = 0; b < batch; b++) {
        const float *a = alpha + (size_t)b * K, *be = beta + (size_t)b * K, *k = kappa + (size_t)b * K;
        const float *p = params + (size_t)b * 3 * K, *dwb = dw + (size_t)b * V;
        float *dp = dParams + (size_t)b * 3 * K, *carry = kappaCarry + (size_t)b * K;
        const int *chars = text + (size_t)b * U;
        int len = (int)lengths[b];
        for (int j = 0; j < K; j++) {
            // Over the characters: e = ∂L/∂φ(t,u)·exp(−β_j d²) with d = κ_j − u, and its sums with d and d².
            VF s0 = vzero(), s1 = s0, s2 = s0;
            VF kj = vset1(k[j]), nb = vset1(-be[j]);
            for (int u0 = 0; u0 < len; u0 += VW) {
                const int n = len - u0;
                VF g = vgather_first(dwb, chars + u0, n);
                VF d = vsub(kj, VNAME(positions)(u0));
                VF e = vkeep_first(vmul(g, vexp(vmul(nb, vmul(d, d)))), n);
                s0 = vadd(s0, e);
                VF ed = vmul(e, d);
                s1 = vadd(s1, ed);
                s2 = vfmadd(ed, d, s2);
            }
            float sE = vsum(s0), sE1 = vsum(s1), sE2 = vsum(s2);
            carry[j] += -2 * a[j] * be[j] * sE1;
            dp[j] = sE * a[j];
            dp[K + j] = -a[j] * sE2 * be[j];
        }
        // ∂L/∂κ̂ = ∂L/∂κ_t · s·exp κ̂, for all K at once (carry now holds ∂L/∂κ_t).
        for (int j = 0; j < K; j += VW) {
            const int n = K - j;
            VF step = vmul(vset1(kappaScale), vexp(vld(p + 2 * K + j, n)));
            vst(dp + 2 * K + j, n, vmul(vld(carry + j, n), step));
        }
    }
}
