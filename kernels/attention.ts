// The row-wise parts of fused scaled-dot-product attention (src/backend/wasm/attention.ts runs
// the GEMMs around them): the softmax of the scaled, masked scores and its gradient, in place
// over contiguous [B, L, S] score rows. Rows are split across shares.
import { expv } from "./math";
import { laneSum } from "./simd";

// @ts-ignore: decorator
@inline function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/**
 * p = softmax(scale * s + mask) along each row of S scores, in place. args: [scores (contiguous
 * [B1 * B2, L, S]), B1, B2, L, S, causal, mask (0: none), then the mask's element strides for
 * b1, b2, row, col, then f32 scale]. Causal rows see columns j <= i only (the others get 0).
 * As in the composite (max, exp(x - max), / sum), a row with no finite maximum gives NaN.
 */
export function attentionSoftmax(args: usize, share: i32, shares: i32): void {
  const scores = <usize>load<u32>(args);
  const B2 = load<i32>(args, 8), L = load<i32>(args, 12), S = load<i32>(args, 16);
  const causal = load<i32>(args, 20) != 0;
  const mask = <usize>load<u32>(args, 24);
  const mb1 = load<i32>(args, 28), mb2 = load<i32>(args, 32), mr = load<i32>(args, 36), mc = load<i32>(args, 40);
  const scale = load<f32>(args, 44);
  const rows = load<i32>(args, 4) * B2 * L;
  const first = <i32>(<i64>rows * share / shares);
  const end = <i32>(<i64>rows * (share + 1) / shares);
  const SCALE = f32x4.splat(scale);
  for (let r = first; r < end; r++) {
    const i = r % L;
    const b = r / L;
    const row = scores + <usize>r * <usize>S * 4;
    const n = causal ? min(i + 1, S) : S;
    // Pass 1: x = s * scale + mask, stored back, and the row maximum.
    let vmax = f32x4.splat(-Infinity);
    let smax: f32 = -Infinity;
    let j = 0;
    if (mask == 0) {
      for (; j + 4 <= n; j += 4) {
        const x = f32x4.mul(v128.load(row + (<usize>j << 2)), SCALE);
        v128.store(row + (<usize>j << 2), x);
        vmax = f32x4.max(vmax, x);
      }
      for (; j < n; j++) {
        const x = load<f32>(row + (<usize>j << 2)) * scale;
        store<f32>(row + (<usize>j << 2), x);
        smax = max(smax, x);
      }
    } else {
      const mrow = mask + <usize>((b / B2) * mb1 + (b % B2) * mb2 + i * mr) * 4;
      if (mc == 1) {
        for (; j + 4 <= n; j += 4) {
          const x = f32x4.add(f32x4.mul(v128.load(row + (<usize>j << 2)), SCALE), v128.load(mrow + (<usize>j << 2)));
          v128.store(row + (<usize>j << 2), x);
          vmax = f32x4.max(vmax, x);
        }
      }
      for (; j < n; j++) {
        const x = load<f32>(row + (<usize>j << 2)) * scale + load<f32>(mrow + (<usize>(j * mc) << 2));
        store<f32>(row + (<usize>j << 2), x);
        smax = max(smax, x);
      }
    }
    const m = max(hmax(vmax), smax);
    // Pass 2: e = exp(x - max) and its sum. (f32x4.max and Mathf.max propagate NaN.)
    const M = f32x4.splat(m);
    let vsum = f32x4.splat(0);
    let ssum: f32 = 0;
    j = 0;
    for (; j + 4 <= n; j += 4) {
      const e = expv(f32x4.sub(v128.load(row + (<usize>j << 2)), M));
      v128.store(row + (<usize>j << 2), e);
      vsum = f32x4.add(vsum, e);
    }
    for (; j < n; j++) {
      const e = f32x4.extract_lane(expv(f32x4.splat(load<f32>(row + (<usize>j << 2)) - m)), 0);
      store<f32>(row + (<usize>j << 2), e);
      ssum += e;
    }
    const SUM = f32x4.splat(laneSum(vsum) + ssum);
    // Pass 3: normalise; the causally hidden columns are exp(-inf) = 0 (NaN when the row has no finite max).
    j = 0;
    for (; j + 4 <= n; j += 4) v128.store(row + (<usize>j << 2), f32x4.div(v128.load(row + (<usize>j << 2)), SUM));
    for (; j < n; j++) store<f32>(row + (<usize>j << 2), load<f32>(row + (<usize>j << 2)) / f32x4.extract_lane(SUM, 0));
    const hidden: f32 = m > -Infinity ? 0 : NaN;
    for (; j < S; j++) store<f32>(row + (<usize>j << 2), hidden);
  }
}

/**
 * The gradient of the scores from that of the weights, in place: ds = scale * (p * dp - p *
 * sum(p * dp)) per row. args: [dp (contiguous rows, overwritten with ds), p (contiguous rows),
 * rows, S, then f32 scale, then causal and L (rows per matrix)]. Causal rows read only columns
 * j <= i (the rest of dp may be unset) and get ds = 0 beyond.
 */
export function attentionSoftmaxBackward(args: usize, share: i32, shares: i32): void {
  const dp = <usize>load<u32>(args), p = <usize>load<u32>(args, 4);
  const rows = load<i32>(args, 8), S = load<i32>(args, 12);
  const scale = load<f32>(args, 16);
  const causal = load<i32>(args, 20) != 0, L = load<i32>(args, 24);
  const SCALE = f32x4.splat(scale);
  const first = <i32>(<i64>rows * share / shares);
  const end = <i32>(<i64>rows * (share + 1) / shares);
  for (let r = first; r < end; r++) {
    const g = dp + <usize>r * <usize>S * 4;
    const w = p + <usize>r * <usize>S * 4;
    const n = causal ? min(r % L + 1, S) : S;
    let vdot = f32x4.splat(0);
    let sdot: f32 = 0;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const t = f32x4.mul(v128.load(w + (<usize>j << 2)), v128.load(g + (<usize>j << 2)));
      v128.store(g + (<usize>j << 2), t);
      vdot = f32x4.add(vdot, t);
    }
    for (; j < n; j++) {
      const t = load<f32>(w + (<usize>j << 2)) * load<f32>(g + (<usize>j << 2));
      store<f32>(g + (<usize>j << 2), t);
      sdot += t;
    }
    const dot = laneSum(vdot) + sdot;
    const DOT = f32x4.splat(dot);
    j = 0;
    for (; j + 4 <= n; j += 4) {
      const t = v128.load(g + (<usize>j << 2));
      v128.store(g + (<usize>j << 2), f32x4.mul(f32x4.sub(t, f32x4.mul(v128.load(w + (<usize>j << 2)), DOT)), SCALE));
    }
    for (; j < n; j++) store<f32>(g + (<usize>j << 2), (load<f32>(g + (<usize>j << 2)) - load<f32>(w + (<usize>j << 2)) * dot) * scale);
    for (; j < S; j++) store<f32>(g + (<usize>j << 2), 0);
  }
}
