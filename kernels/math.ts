// Vectorized float32 transcendental functions on four lanes, for the elementwise kernels. Each is
// a polynomial after an argument reduction, accurate to about 1-3 float32 ulp of the correctly
// rounded value (what the JS backend gives: Math.* in double, then rounded). Special inputs
// (NaN, +-inf, +-0, overflow, underflow to denormals or zero, denormal inputs) are handled
// branch-free with clamps and selects, giving what Math.* gives. The coefficients were fitted
// (minimax) in double and checked against the correctly rounded results.
import { madd } from "./simd";

// @ts-ignore: decorator
@inline function k(v: f32): v128 {
  return f32x4.splat(v);
}

const SIGN: i32 = 0x80000000;
const LOG2E: f32 = 1.44269504;
// ln 2 split in two so n * LN2_HI is exact for |n| < 2^15 (Cody-Waite reduction).
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;

/** 2^n for integer lanes n in [-126, 127] (a float's exponent field). */
// @ts-ignore: decorator
@inline function pow2i(n: v128): v128 {
  return i32x4.shl(i32x4.add(n, i32x4.splat(127)), 23);
}

// Adding 1.5 * 2^23 rounds a float below 2^22 in magnitude to an integer, which then sits in
// the low mantissa bits: cheaper than f32x4.nearest plus a saturating conversion.
const SHIFTER: f32 = 12582912;
const SHIFTER_BITS: i32 = 0x4b400000;

/** x * log2(e) rounded to an integer n, in the low bits of a float near 1.5 * 2^23 (see SHIFTER). */
// @ts-ignore: decorator
@inline function reduceShifted(x: v128): v128 {
  return madd(x, k(LOG2E), k(SHIFTER));
}

/** expm1(r) for r = x - n * ln2 (relative error 4e-10 before float32 rounding). */
// @ts-ignore: decorator
@inline function expm1Reduced(x: v128, shifted: v128): v128 {
  const fn = f32x4.sub(shifted, k(SHIFTER));
  const r = madd(fn, k(-LN2_LO), madd(fn, k(-LN2_HI), x));
  let h = madd(k(0.00019911039), r, k(0.0013934185));
  h = madd(h, r, k(0.00833328));
  h = madd(h, r, k(0.041666474));
  h = madd(h, r, k(0.16666667));
  h = madd(h, r, k(0.5));
  return madd(f32x4.mul(r, r), h, r);
}

/** exp(x): overflow gives inf above 88.72, underflow gives denormals, then 0 below -103.97. */
// @ts-ignore: decorator
@inline export function expv(x: v128): v128 {
  // Clamping keeps n in [-150, 128]. pmin/pmax (one instruction on x86) return their first
  // operand unless the second is strictly smaller/larger, so a NaN x passes through.
  const xc = f32x4.pmin(f32x4.pmax(x, k(-104)), k(89));
  const shifted = reduceShifted(xc);
  const em = expm1Reduced(xc, shifted);
  const n = i32x4.sub(shifted, i32x4.splat(SHIFTER_BITS));
  // 2^n as two factors, each a normal float, so the result rounds once into the denormal
  // range or overflows to inf exactly where exp does.
  const n1 = i32x4.shr_s(n, 1);
  const p = f32x4.add(em, k(1));
  return f32x4.mul(f32x4.mul(p, pow2i(n1)), pow2i(i32x4.sub(n, n1)));
}

/** exp(x) - 1, accurate near 0: 2^n * expm1(r) + (2^n - 1). */
// @ts-ignore: decorator
@inline export function expm1v(x: v128): v128 {
  // Below -30 the result is -1 in float32; above 88 it is exp(x) (and its overflow).
  const xc = f32x4.pmin(f32x4.pmax(x, k(-30)), k(89));
  const shifted = reduceShifted(xc);
  const em = expm1Reduced(xc, shifted);
  const n = i32x4.sub(shifted, i32x4.splat(SHIFTER_BITS));
  const big = i32x4.gt_s(n, i32x4.splat(24));
  const n1 = v128.bitselect(i32x4.shr_s(n, 1), n, big);
  const s1 = pow2i(n1);
  const s2 = pow2i(i32x4.sub(n, n1));
  // n > 24: the -1 vanishes, and 2^n may need two factors (n up to 128).
  const large = f32x4.mul(f32x4.mul(f32x4.add(em, k(1)), s1), s2);
  const small = madd(s1, em, f32x4.sub(s1, k(1)));
  // The reduction turns -0 into +0; expm1(-0) is -0.
  return v128.bitselect(x, v128.bitselect(large, small, big), f32x4.eq(x, k(0)));
}

/** log(x): -inf at +-0, NaN below 0 and for NaN, inf at inf; denormal inputs are exact-scaled first. */
// @ts-ignore: decorator
@inline export function logv(x: v128): v128 {
  const denormal = f32x4.lt(x, k(1.17549435e-38));
  const xs = v128.bitselect(f32x4.mul(x, k(8388608)), x, denormal); // * 2^23
  // x = m * 2^e with m in [sqrt(1/2), sqrt(2)).
  const bits = i32x4.sub(xs, i32x4.splat(0x3f3504f3)); // sqrt(1/2)'s bits
  const e = i32x4.shr_s(bits, 23);
  const m = i32x4.add(v128.and(bits, i32x4.splat(0x007fffff)), i32x4.splat(0x3f3504f3));
  const ef = f32x4.sub(f32x4.convert_i32x4_s(e), v128.and(denormal, k(23)));
  const f = f32x4.sub(m, k(1));
  const z = f32x4.mul(f, f);
  let p = madd(k(7.0376836292e-2), f, k(-1.1514610310e-1));
  p = madd(p, f, k(1.1676998740e-1));
  p = madd(p, f, k(-1.2420140846e-1));
  p = madd(p, f, k(1.4249322787e-1));
  p = madd(p, f, k(-1.6668057665e-1));
  p = madd(p, f, k(2.0000714765e-1));
  p = madd(p, f, k(-2.4999993993e-1));
  p = madd(p, f, k(3.3333331174e-1));
  let y = f32x4.mul(f32x4.mul(p, z), f);
  y = madd(ef, k(LN2_LO), y);
  y = madd(z, k(-0.5), y);
  const r = madd(ef, k(LN2_HI), f32x4.add(f, y));
  // Special lanes: x == inf -> inf, x == +-0 -> -inf, x < 0 or NaN -> NaN.
  const inf = k(Infinity);
  let out = v128.bitselect(inf, r, f32x4.eq(x, inf));
  out = v128.bitselect(k(-Infinity), out, f32x4.eq(x, k(0)));
  return v128.bitselect(k(NaN), out, v128.not(f32x4.ge(x, k(0))));
}

/** log(1 + x), accurate near 0: log(u) * x / (u - 1) with u = 1 + x rounded (Goldberg's trick). */
// @ts-ignore: decorator
@inline export function log1pv(x: v128): v128 {
  const u = f32x4.add(x, k(1));
  const um1 = f32x4.sub(u, k(1));
  const l = logv(u);
  const r = f32x4.mul(l, f32x4.div(x, um1));
  // u == 1: log1p(x) is x to float32 precision; u == inf: the quotient would be inf/inf.
  const out = v128.bitselect(x, r, f32x4.eq(u, k(1)));
  return v128.bitselect(u, out, f32x4.eq(u, k(Infinity)));
}

/** 1 / (1 + exp(-x)), as e / (1 + e) with e = exp(x) below 0 so tiny results keep their precision. */
// @ts-ignore: decorator
@inline export function sigmoidv(x: v128): v128 {
  const e = expv(f32x4.neg(f32x4.abs(x)));
  const num = v128.bitselect(k(1), e, f32x4.ge(x, k(0)));
  return f32x4.div(num, f32x4.add(e, k(1)));
}

/** tanh(x): an odd polynomial for |x| < 0.625, 1 - 2 / (exp(2|x|) + 1) beyond. */
// @ts-ignore: decorator
@inline export function tanhv(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = madd(k(-5.70498872745e-3), z, k(2.06390887954e-2));
  p = madd(p, z, k(-5.37397155531e-2));
  p = madd(p, z, k(1.33314422036e-1));
  p = madd(p, z, k(-3.33332819422e-1));
  const near = madd(f32x4.mul(p, z), ax, ax);
  const e = expv(f32x4.add(ax, ax));
  const far = f32x4.sub(k(1), f32x4.div(k(2), f32x4.add(e, k(1))));
  // Both are tanh(|x|) >= 0; the sign goes back on last, so tanh(-0) is -0.
  return v128.or(v128.bitselect(near, far, f32x4.lt(ax, k(0.625))), v128.and(x, i32x4.splat(SIGN)));
}

/**
 * erf(x): x * (1 + P(x^2)) for |x| < 0.921875; beyond, 1 - exp(Q(|x|)) with Q fitted to
 * log(erfc) on [0.921875, 4] (erf is 1 in float32 from 3.92 on), the sign copied back.
 */
// @ts-ignore: decorator
@inline export function erfv(x: v128): v128 {
  const ax = f32x4.abs(x);
  const u = f32x4.mul(x, x);
  let p = madd(k(8.3703198e-05), u, k(-0.00081427576));
  p = madd(p, u, k(0.005201037));
  p = madd(p, u, k(-0.0268594));
  p = madd(p, u, k(0.11283696));
  p = madd(p, u, k(-0.37612635));
  p = madd(p, u, k(0.12837917));
  const near = madd(x, p, x);
  const t = f32x4.pmin(ax, k(4)); // NaN passes
  let q = madd(k(1.0328008e-06), t, k(-1.6590035e-05));
  q = madd(q, t, k(9.437416e-05));
  q = madd(q, t, k(-2.2909935e-05));
  q = madd(q, t, k(-0.003034045));
  q = madd(q, t, k(0.023278316));
  q = madd(q, t, k(-0.10633671));
  q = madd(q, t, k(-0.6346374));
  q = madd(q, t, k(-1.1290252));
  q = madd(q, t, k(9.3730967e-05));
  const far = f32x4.sub(k(1), expv(q));
  const farSigned = v128.or(far, v128.and(x, i32x4.splat(SIGN)));
  return v128.bitselect(near, farSigned, f32x4.lt(ax, k(0.921875)));
}
