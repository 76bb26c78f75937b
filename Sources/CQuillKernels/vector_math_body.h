// The kernels' vector maths at one width (see simd_width.h; included by vector_math.h once per width): the same
// Cephes approximations as Float.fastExp / fastTanh in QuillNumerics, with fused multiply-adds, so the kernels and
// the portable Swift path agree to rounding (not bit for bit). No include guard, on purpose.

/// exp(x), x clamped to [−87.3, 88.7] first (so exp overflows to +∞ only above 88.38, as Float.fastExp does).
VTARGET static inline VF vexp(VF x) {
    x = vmin(vmax(x, vset1(-87.3f)), vset1(88.7f));
    VF m = vfmadd(x, vset1(1.442695041f), vset1(12582912.0f));
    VF n = vsub(m, vset1(12582912.0f));
    VF r = vfnmadd(n, vset1(0.693359375f), x);
    r = vfmadd(n, vset1(2.12194440e-4f), r);
    VF p = vset1(1.9875691500e-4f);
    p = vfmadd(p, r, vset1(1.3981999507e-3f));
    p = vfmadd(p, r, vset1(8.3334519073e-3f));
    p = vfmadd(p, r, vset1(4.1665795894e-2f));
    p = vfmadd(p, r, vset1(1.6666665459e-1f));
    p = vfmadd(p, r, vset1(5.0000001201e-1f));
    VF er = vadd(vfmadd(vmul(p, r), r, r), vset1(1.0f));
    VI bits = vslli_i(vadd_i(vsub_i(vas_i(m), vset1_i(0x4B400000)), vset1_i(127)), 23);
    return vmul(er, vas_f(bits));
}

/// 1/d: the hardware reciprocal estimate and one Newton step (relative error about 1e-7, like the division it
/// replaces, at a quarter of its cost). d ≥ 1 wherever it is used here, and may be +∞ (vexp overflows above 88.38):
/// d is capped at 1e30 first, since the Newton step would turn 1/∞ into ∞·0 = NaN.
VTARGET static inline VF vreciprocal(VF d) {
    d = vmin(d, vset1(1e30f));
    VF r = vrcp_estimate(d);
    return vmul(r, vfnmadd(d, r, vset1(2.0f)));
}

VTARGET static inline VF vsigmoid(VF x) { return vreciprocal(vadd(vset1(1.0f), vexp(vsub(vzero(), x)))); }

VTARGET static inline VF vtanh(VF x) {
    const VF signBit = vas_f(vset1_i((int)0x80000000u));
    VF ax = vand(x, vas_f(vset1_i(0x7FFFFFFF))), z = vmul(x, x);
    VF p = vset1(-5.70498872745e-3f);
    p = vfmadd(p, z, vset1(2.06390887954e-2f));
    p = vfmadd(p, z, vset1(-5.37397155531e-2f));
    p = vfmadd(p, z, vset1(1.33314422036e-1f));
    p = vfmadd(p, z, vset1(-3.33332819422e-1f));
    VF small = vfmadd(vmul(p, z), x, x);
    VF e = vexp(vadd(ax, ax));
    VF bigAbs = vfnmadd(vset1(2.0f), vreciprocal(vadd(e, vset1(1.0f))), vset1(1.0f));
    // bigAbs with x's sign.
    VF big = vor(bigAbs, vand(x, signBit));
    return vselect_lt(ax, vset1(0.625f), small, big);
}
