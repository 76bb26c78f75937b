// The thin products at one width (see simd_width.h; thin_product.c includes this once per width). No include guard,
// on purpose. Every element is (bias +) Σ_k a·b as a chain of fused multiply-adds in k order, then × alpha (when not
// 1), then + beta·C (when beta is not 0): the same bits whichever thread or range computes it.

/// Rows [r0, r1) of C for a depth of at most QK_THIN_DEPTH: each row is one pass over the k rows of B.
VTARGET static void VNAME(thin_depth_rows)(void *context, int r0, int r1) {
    const thin_args *g = context;
    const int n = g->n, k = g->k;
    for (int i = r0; i < r1; i++) {
        VF a[QK_THIN_DEPTH];
        for (int t = 0; t < k; t++) a[t] = vset1(g->transA ? g->A[(size_t)t * g->lda + i] : g->A[(size_t)i * g->lda + t]);
        float *c = g->C + (size_t)i * g->ldc;
        for (int j = 0; j < n; j += VW) {
            const int rem = n - j;
            VF acc = g->bias ? vfmadd(a[0], vld(g->B + j, rem), vld(g->bias + j, rem)) : vmul(a[0], vld(g->B + j, rem));
            for (int t = 1; t < k; t++) acc = vfmadd(a[t], vld(g->B + (size_t)t * g->ldb + j, rem), acc);
            if (g->alpha != 1.0f) acc = vmul(acc, vset1(g->alpha));
            if (g->beta != 0.0f) acc = vfmadd(vset1(g->beta), vld(c + j, rem), acc);
            vst(c + j, rem, acc);
        }
    }
}

/// One block of four vectors of columns, from column j, for M rows (a constant where it is inlined, so the M × 4
/// sums stay in registers over the whole depth).
VTARGET static inline __attribute__((always_inline)) void VNAME(thin_rows_block)(const thin_args *g, int j, const int M) {
    const int k = g->k, cols = g->n - j;
    VF acc[QK_THIN_ROWS][4];
    for (int i = 0; i < M; i++)
        for (int q = 0; q < 4; q++) acc[i][q] = vzero();
    for (int t = 0; t < k; t++) {
        const float *b = g->B + (size_t)t * g->ldb + j;
        VF bq[4];
        for (int q = 0; q < 4; q++) bq[q] = cols > q * VW ? vld(b + q * VW, cols - q * VW) : vzero();
        for (int i = 0; i < M; i++) {
            const VF a = vset1(g->transA ? g->A[(size_t)t * g->lda + i] : g->A[(size_t)i * g->lda + t]);
            for (int q = 0; q < 4; q++) acc[i][q] = vfmadd(a, bq[q], acc[i][q]);
        }
    }
    for (int i = 0; i < M; i++) {
        float *c = g->C + (size_t)i * g->ldc + j;
        for (int q = 0; q < 4 && cols > q * VW; q++) {
            const int rem = cols - q * VW;
            VF v = acc[i][q];
            if (g->alpha != 1.0f) v = vmul(v, vset1(g->alpha));
            if (g->beta != 0.0f) v = vfmadd(vset1(g->beta), vld(c + q * VW, rem), v);
            vst(c + q * VW, rem, v);
        }
    }
}

/// Column blocks [b0, b1) of C (blocks of four vectors) for at most QK_THIN_ROWS rows.
VTARGET static void VNAME(thin_rows_blocks)(void *context, int b0, int b1) {
    const thin_args *g = context;
    for (int blk = b0; blk < b1; blk++) {
        const int j = blk * 4 * VW;
        switch (g->m) {
        case 1: VNAME(thin_rows_block)(g, j, 1); break;
        case 2: VNAME(thin_rows_block)(g, j, 2); break;
        case 3: VNAME(thin_rows_block)(g, j, 3); break;
        default: VNAME(thin_rows_block)(g, j, 4); break;
        }
    }
}
