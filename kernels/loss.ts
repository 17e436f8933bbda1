// Cross entropy of class-index targets over rows of contiguous float32 logits [rows, classes]
// (src/nn/functional/loss.ts's fused op; the JS reference is src/backend/js/loss.ts). The forward
// pass keeps two doubles per row, the shift (the row's max) and 1 / sum(exp(x - shift)), so the
// backward pass recomputes the softmax from the logits instead of keeping a second
// [rows, classes] array. Sums accumulate in f64 lanes; the exponentials are expv's (1-3 float32
// ulp), so results match the JS reference to float32 rounding, not bit for bit. No Math.* here
// (see crossEntropyForward).
import { expv } from "./math";

// @ts-ignore: decorator
@inline function rowRange(rows: i32, share: i32, shares: i32): i32 {
  return <i32>(<i64>rows * share / shares);
}

// @ts-ignore: decorator
@inline function sumLanes(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/**
 * args: [logits, labels (i32), weight (f32 per class, 0 = none), rows, classes, ignoreIndex,
 * smoothing (f32), sums (f64 [rows, 3] out)]. Per row that is not ignored: the shift (the max
 * logit, 0 when infinite), sum_c exp(x[c] - shift), and with smoothing sum_c w[c] x[c] (w = 1
 * without weights); ignored rows get zeros. The caller takes the logs in JS: AssemblyScript's
 * Math.log keeps lookup tables in a data segment, which the threaded runtime's control block
 * overlaps, so kernels must use no Math function. Rows split across shares.
 */
export function crossEntropyForward(args: usize, share: i32, shares: i32): void {
  const logits = <usize>load<u32>(args), labels = <usize>load<u32>(args, 4), weight = <usize>load<u32>(args, 8);
  const rows = load<i32>(args, 12), classes = load<i32>(args, 16), ignoreIndex = load<i32>(args, 20);
  const smoothing = load<f32>(args, 24);
  const sums = <usize>load<u32>(args, 28);
  const end = rowRange(rows, share + 1, shares);
  for (let r = rowRange(rows, share, shares); r < end; r++) {
    const label = load<i32>(labels + (<usize>r << 2));
    const out = sums + <usize>r * 24;
    store<f64>(out, 0);
    store<f64>(out, 0, 8);
    store<f64>(out, 0, 16);
    if (label == ignoreIndex) continue;
    const x = logits + <usize>r * <usize>classes * 4;
    // The max, NaN propagating (f32x4.max and f32.max both do).
    let maxv = f32x4.splat(-Infinity);
    let c = 0;
    for (; c + 4 <= classes; c += 4) maxv = f32x4.max(maxv, v128.load(x + (<usize>c << 2)));
    let rowMax = max<f32>(max<f32>(f32x4.extract_lane(maxv, 0), f32x4.extract_lane(maxv, 1)), max<f32>(f32x4.extract_lane(maxv, 2), f32x4.extract_lane(maxv, 3)));
    for (; c < classes; c++) rowMax = max<f32>(rowMax, load<f32>(x + (<usize>c << 2)));
    const shift: f32 = rowMax == Infinity || rowMax == -Infinity ? 0 : rowMax;
    const shiftv = f32x4.splat(shift);
    let sumLo = f64x2.splat(0), sumHi = f64x2.splat(0);
    c = 0;
    for (; c + 4 <= classes; c += 4) {
      const e = expv(f32x4.sub(v128.load(x + (<usize>c << 2)), shiftv));
      sumLo = f64x2.add(sumLo, f64x2.promote_low_f32x4(e));
      sumHi = f64x2.add(sumHi, f64x2.promote_low_f32x4(v128.shuffle<u32>(e, e, 2, 3, 0, 1)));
    }
    let sumExp = sumLanes(f64x2.add(sumLo, sumHi));
    for (; c < classes; c++) sumExp += <f64>f32x4.extract_lane(expv(f32x4.splat(load<f32>(x + (<usize>c << 2)) - shift)), 0);
    store<f64>(out, <f64>shift);
    store<f64>(out, sumExp, 8);
    if (smoothing > 0) {
      let dotLo = f64x2.splat(0), dotHi = f64x2.splat(0);
      c = 0;
      for (; c + 4 <= classes; c += 4) {
        const v = v128.load(x + (<usize>c << 2));
        const wv = weight == 0 ? f32x4.splat(1) : v128.load(weight + (<usize>c << 2));
        dotLo = f64x2.add(dotLo, f64x2.mul(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(wv)));
        dotHi = f64x2.add(dotHi, f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<u32>(v, v, 2, 3, 0, 1)), f64x2.promote_low_f32x4(v128.shuffle<u32>(wv, wv, 2, 3, 0, 1))));
      }
      let dot = sumLanes(f64x2.add(dotLo, dotHi));
      for (; c < classes; c++) dot += <f64>load<f32>(x + (<usize>c << 2)) * (weight == 0 ? 1 : <f64>load<f32>(weight + (<usize>c << 2)));
      store<f64>(out, dot, 16);
    }
  }
}

/**
 * args: [logits, labels, weight (0 = none), rows, classes, ignoreIndex, smoothing (f32),
 * rowStats (forward's), rowGrad (f64 [rows]: d(loss) for the row, the reduction's scale
 * included), grad (f32 [rows, classes] out), weightSum (f64 at 40)]. Per row, with
 * p = exp(x - shift) / sumExp and g = rowGrad:
 *   grad[c] = g ((1 - s) w[y] (p[c] - [c == y]) + (s / C) (weightSum p[c] - w[c]))
 * Ignored rows get zeros.
 */
export function crossEntropyBackward(args: usize, share: i32, shares: i32): void {
  const logits = <usize>load<u32>(args), labels = <usize>load<u32>(args, 4), weight = <usize>load<u32>(args, 8);
  const rows = load<i32>(args, 12), classes = load<i32>(args, 16), ignoreIndex = load<i32>(args, 20);
  const smoothing = <f64>load<f32>(args, 24);
  const stats = <usize>load<u32>(args, 28), rowGrad = <usize>load<u32>(args, 32), grad = <usize>load<u32>(args, 36);
  const weightSum = load<f64>(args, 40);
  const uniform = smoothing / <f64>classes;
  const end = rowRange(rows, share + 1, shares);
  for (let r = rowRange(rows, share, shares); r < end; r++) {
    const label = load<i32>(labels + (<usize>r << 2));
    const x = logits + <usize>r * <usize>classes * 4;
    const out = grad + <usize>r * <usize>classes * 4;
    if (label == ignoreIndex) {
      memory.fill(out, 0, <usize>classes << 2);
      continue;
    }
    const stat = stats + (<usize>r << 4);
    const shiftv = f32x4.splat(<f32>load<f64>(stat));
    const g = load<f64>(rowGrad + (<usize>r << 3));
    const nllScale = (1 - smoothing) * (weight == 0 ? 1 : <f64>load<f32>(weight + (<usize>label << 2)));
    // grad[c] = a p[c] - b w[c] (then - g nllScale at the label), p = exp(x - shift) * inverseSum.
    const pScale = f32x4.splat(<f32>(g * (nllScale + uniform * weightSum) * load<f64>(stat, 8)));
    const b = <f32>(g * uniform);
    const bv = f32x4.splat(b);
    let c = 0;
    if (b == 0) {
      for (; c + 4 <= classes; c += 4) {
        const at = <usize>c << 2;
        v128.store(out + at, f32x4.mul(pScale, expv(f32x4.sub(v128.load(x + at), shiftv))));
      }
    } else {
      for (; c + 4 <= classes; c += 4) {
        const at = <usize>c << 2;
        const wv = weight == 0 ? f32x4.splat(1) : v128.load(weight + at);
        v128.store(out + at, f32x4.sub(f32x4.mul(pScale, expv(f32x4.sub(v128.load(x + at), shiftv))), f32x4.mul(bv, wv)));
      }
    }
    for (; c < classes; c++) {
      const at = <usize>c << 2;
      const e = f32x4.extract_lane(expv(f32x4.sub(f32x4.splat(load<f32>(x + at)), shiftv)), 0);
      const w: f32 = weight == 0 ? 1 : load<f32>(weight + at);
      store<f32>(out + at, f32x4.extract_lane(pScale, 0) * e - b * w);
    }
    const at = out + (<usize>label << 2);
    store<f32>(at, <f32>(<f64>load<f32>(at) - g * nllScale));
  }
}
