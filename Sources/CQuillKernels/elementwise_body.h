// tanh and the logistic sigmoid over float arrays at one width (see simd_width.h; elementwise.c includes this once
// per width, with contraction off): the operations of Float.fastTanh / fastSigmoid in QuillNumerics in the same
// order, no fused multiply-adds, true division, so each lane gives the Swift form's bits. No include guard, on
// purpose.

/// -x, as Swift negates: the sign bit flipped (0 − x would turn −0 into +0).
VTARGET static inline VF VNAME(x_negate)(VF x) { return vxor(x, vas_f(vset1_i((int)0x80000000u))); }

VTARGET static inline VF VNAME(x_exp)(VF x) {
    // max(c, x) is c > x ? c : x and min(c, x) is c < x ? c : x: a NaN x comes through, as in Swift.
    VF xc = vmax(vset1(-87.3f), x);
    xc = vmin(vset1(88.7f), xc);
    VF m = vadd(vmul(xc, vset1(1.442695041f)), vset1(12582912.0f));
    VF n = vsub(m, vset1(12582912.0f));
    VF r = vadd(vsub(xc, vmul(n, vset1(0.693359375f))), vmul(n, vset1(2.12194440e-4f)));
    VF p = vset1(1.9875691500e-4f);
    p = vadd(vmul(p, r), vset1(1.3981999507e-3f));
    p = vadd(vmul(p, r), vset1(8.3334519073e-3f));
    p = vadd(vmul(p, r), vset1(4.1665795894e-2f));
    p = vadd(vmul(p, r), vset1(1.6666665459e-1f));
    p = vadd(vmul(p, r), vset1(5.0000001201e-1f));
    VF er = vadd(vadd(vmul(vmul(p, r), r), r), vset1(1.0f));
    VI bits = vslli_i(vadd_i(vsub_i(vas_i(m), vset1_i(0x4B400000)), vset1_i(127)), 23);
    return vmul(er, vas_f(bits));
}

VTARGET static inline VF VNAME(x_tanh)(VF x) {
    VF ax = vand(x, vas_f(vset1_i(0x7FFFFFFF)));
    VF z = vmul(x, x);
    VF p = vset1(-5.70498872745e-3f);
    p = vadd(vmul(p, z), vset1(2.06390887954e-2f));
    p = vsub(vmul(p, z), vset1(5.37397155531e-2f));
    p = vadd(vmul(p, z), vset1(1.33314422036e-1f));
    p = vsub(vmul(p, z), vset1(3.33332819422e-1f));
    VF small = vadd(vmul(vmul(p, z), x), x);
    VF e = VNAME(x_exp)(vmul(vset1(2.0f), ax));
    VF bigAbs = vsub(vset1(1.0f), vdiv(vset1(2.0f), vadd(e, vset1(1.0f))));
    VF big = vselect_lt(x, vzero(), VNAME(x_negate)(bigAbs), bigAbs);
    return vselect_lt(ax, vset1(0.625f), small, big);
}

VTARGET static inline VF VNAME(x_sigmoid)(VF x) {
    return vdiv(vset1(1.0f), vadd(vset1(1.0f), VNAME(x_exp)(VNAME(x_negate)(x))));
}

/// y[i] = tanh(x[i]) for i < n, VW lanes at a time; the tail under a mask (lanes past n neither read nor written).
VTARGET static void VNAME(tanh_map)(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + VW <= n; i += VW) vstoreu(y + i, VNAME(x_tanh)(vloadu(x + i)));
    if (i < n) vst(y + i, (int)(n - i), VNAME(x_tanh)(vld(x + i, (int)(n - i))));
}

/// y[i] = σ(x[i]) for i < n, as tanh_map.
VTARGET static void VNAME(sigmoid_map)(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + VW <= n; i += VW) vstoreu(y + i, VNAME(x_sigmoid)(vloadu(x + i)));
    if (i < n) vst(y + i, (int)(n - i), VNAME(x_sigmoid)(vld(x + i, (int)(n - i))));
}
