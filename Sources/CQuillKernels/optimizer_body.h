// Adam's update at one width (see simd_width.h; optimizer.c includes this once per width, with contraction off):
// the operations of optimizer.c's adam_loop, lane by lane, so each lane gives the loop's bits. No include guard,
// on purpose.

/// Elements [i0, i1) of the update, VW lanes at a time; the tail under a mask (lanes past i1 neither read nor
/// written).
VTARGET static void VNAME(adam_span)(const adam_args *a, size_t i0, size_t i1) {
    const VF b1 = vset1(a->beta1), b2 = vset1(a->beta2), c1 = vset1(1 - a->beta1), c2 = vset1(1 - a->beta2);
    const VF lr = vset1(a->lr), eps = vset1(a->eps);
    for (size_t i = i0; i < i1; i += VW) {
        const int n = i1 - i < (size_t)VW ? (int)(i1 - i) : VW;
        const VF g = vld(a->g + i, n);
        const VF m = vadd(vmul(b1, vld(a->m + i, n)), vmul(c1, g));
        const VF v = vadd(vmul(b2, vld(a->v + i, n)), vmul(vmul(c2, g), g));
        vst(a->m + i, n, m);
        vst(a->v + i, n, v);
        vst(a->w + i, n, vsub(vld(a->w + i, n), vdiv(vmul(lr, m), vadd(vsqrt(v), eps))));
    }
}

/// The Float sums of squares of `count` whole blocks of SUMSQ_BLOCK floats, blocks `first` … at x: out[b] for
/// block b. VW blocks at a time, one block a lane, each lane summing its block's squares in order (x·x, then the
/// add), so a lane gives the bits of the sequential loop.
VTARGET static void VNAME(sumsq_blocks)(const float *x, int first, int count, float *out) {
    int idx[VW];
    for (int k = 0; k < VW; k++) idx[k] = k * SUMSQ_BLOCK;
    for (int b = first; b < first + count; b += VW) {
        const int lanes = first + count - b < VW ? first + count - b : VW;
        const float *base = x + (size_t)b * SUMSQ_BLOCK;
        VF s = vzero();
        for (int j = 0; j < SUMSQ_BLOCK; j++) {
            const VF v = vgather_first(base + j, idx, lanes);
            s = vadd(s, vmul(v, v));
        }
        vst(out + b, lanes, s);
    }
}
