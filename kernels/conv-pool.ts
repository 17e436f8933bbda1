// A convolution's weight and bias gradients from the gradient of max pooling over its output,
// without scattering that gradient: each pooled output's gradient reaches one convolution output
// (the window's maximum, its index), whose weight gradient is that gradient times the input
// window under it. So the weight gradient is a sum over the pooled outputs, not over every
// convolution output (for 2x2 pooling, a quarter of the multiply-adds, and no zero-filled
// gradient as large as the convolution's output). One output channel per share: each share owns
// its channel's weight-gradient row and bias entry, so the sums are the same on any number of
// threads. Convolutions with no padding, one group, unit column dilation, kernel rows of at most
// 8 taps and contiguous input rows (src/backend/wasm/conv-pool.ts's fromMaxPoolApplies).
import { madd } from "./simd";
import { geometry } from "./window";

// args (i32): 0 pooled gradient, 1-4 its element strides (N, C, H, W), 5 indices (dense
// [N, O, pooledH, pooledW], plane indices h * ow + w of the convolution's output), 6 pooled values
// (same layout) when a ReLU's backward is folded in, else 0, 7 x (the convolution's input), then
// the convolution's 14 geometry fields at byte 32 (window.ts), then 22-25 x's element strides
// (N, C, H, W; W must be 1), 26 outChannels, 27 pooledH, 28 pooledW, 29 weight gradient (dense
// [O, C, kh, kw]), 30 bias gradient ([O], 0 = none), 31 the input window of each plane index: its
// element offset in a sample of x (an i32 per index: a table lookup instead of a division per
// pooled output).
// @ts-ignore: decorator
@inline const X_STRIDES: usize = 88;
// @ts-ignore: decorator
@inline const OUT_CHANNELS: usize = 104;

/** Kernel rows (c, ki) whose gradients are summed in one pass over the pooled outputs: two accumulators each. */
// @ts-ignore: decorator
@inline const ROW_BLOCK: i32 = 5;

/** Output channels share, share + shares, ...: their weight-gradient rows and bias entries. */
export function convWeightGradFromMaxPool(args: usize, share: i32, shares: i32): void {
  const outChannels = load<i32>(args, OUT_CHANNELS);
  const g = geometry(args);
  const rows = g.channels * g.kh;
  const biasOut = <usize>load<u32>(args, OUT_CHANNELS + 16);
  for (let o = share; o < outChannels; o += shares) {
    for (let first = 0; first < rows; first += ROW_BLOCK) {
      const biasSum = rowBlock(args, o, first);
      if (first == 0 && biasOut != 0) store<f32>(biasOut + <usize>o * 4, biasSum);
    }
  }
}

/**
 * The weight gradient of channel o's kernel rows [first, first + 5) (those that exist): one pass
 * over the pooled outputs, each adding its gradient times the input window's rows to ten
 * accumulators (taps 0-3 and 4-7 of each row). Returns the sum of the gradients that pass (the
 * bias gradient). Rows past the kernel repeat the last one and are not stored; lanes past the
 * row's taps read the input beyond the window and are not stored.
 */
function rowBlock(args: usize, o: i32, first: i32): f32 {
  const g = geometry(args);
  const grad = <usize>load<u32>(args);
  const gn = load<i32>(args, 4), gc = load<i32>(args, 8), gh = load<i32>(args, 12), gw = load<i32>(args, 16);
  const indices = <usize>load<u32>(args, 20), pooledValues = <usize>load<u32>(args, 24), x = <usize>load<u32>(args, 28);
  const xn = load<i32>(args, X_STRIDES), xc = load<i32>(args, X_STRIDES + 4), xh = load<i32>(args, X_STRIDES + 8);
  const outChannels = load<i32>(args, OUT_CHANNELS);
  const pooledH = load<i32>(args, OUT_CHANNELS + 4), pooledW = load<i32>(args, OUT_CHANNELS + 8);
  const rows = g.channels * g.kh;
  const r0 = rowOffset(args, first, xc, xh), r1 = rowOffset(args, min(first + 1, rows - 1), xc, xh);
  const r2 = rowOffset(args, min(first + 2, rows - 1), xc, xh), r3 = rowOffset(args, min(first + 3, rows - 1), xc, xh);
  const r4 = rowOffset(args, min(first + 4, rows - 1), xc, xh);
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
  let b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0;
  const plane = g.oh * g.ow, batch = g.batch;
  const windows = <usize>load<u32>(args, OUT_CHANNELS + 20);
  let biasSum: f32 = 0;
  for (let n = 0; n < batch; n++) {
    const sample = x + <usize>(n * xn) * 4;
    let at = <usize>((n * outChannels + o) * pooledH * pooledW) * 4;
    const gradSample = grad + <usize>(n * gn + o * gc) * 4;
    for (let py = 0; py < pooledH; py++) {
      const gradRow = gradSample + <usize>(py * gh) * 4;
      for (let px = 0; px < pooledW; px++, at += 4) {
        let index = load<i32>(indices + at);
        // An index past the plane (a window wholly outside the input) reaches no element; a
        // folded ReLU passes nothing where its output, the pooled value, is <= 0 (NaN passes).
        // Both add a zero gradient times the plane's first window instead (no branch).
        let value = load<f32>(gradRow + <usize>(px * gw) * 4);
        const outside = <u32>index >= <u32>plane;
        value = select<f32>(0, value, outside);
        index = select<i32>(0, index, outside);
        if (pooledValues != 0) value = select<f32>(0, value, load<f32>(pooledValues + at) <= 0);
        biasSum += value;
        const window = sample + <usize>load<i32>(windows + <usize>index * 4) * 4;
        const v = f32x4.splat(value);
        a0 = madd(v, v128.load(window + r0), a0); b0 = madd(v, v128.load(window + r0, 16), b0);
        a1 = madd(v, v128.load(window + r1), a1); b1 = madd(v, v128.load(window + r1, 16), b1);
        a2 = madd(v, v128.load(window + r2), a2); b2 = madd(v, v128.load(window + r2, 16), b2);
        a3 = madd(v, v128.load(window + r3), a3); b3 = madd(v, v128.load(window + r3, 16), b3);
        a4 = madd(v, v128.load(window + r4), a4); b4 = madd(v, v128.load(window + r4, 16), b4);
      }
    }
  }
  const taps = rows * g.kw;
  const out = <usize>load<u32>(args, OUT_CHANNELS + 12) + <usize>(o * taps + first * g.kw) * 4;
  const count = min(ROW_BLOCK, rows - first);
  storeRow(out, g.kw, a0, b0);
  if (count > 1) storeRow(out + <usize>g.kw * 4, g.kw, a1, b1);
  if (count > 2) storeRow(out + <usize>(2 * g.kw) * 4, g.kw, a2, b2);
  if (count > 3) storeRow(out + <usize>(3 * g.kw) * 4, g.kw, a3, b3);
  if (count > 4) storeRow(out + <usize>(4 * g.kw) * 4, g.kw, a4, b4);
  return biasSum;
}

/** Byte offset within an input window of kernel row r = c * kh + ki. */
// @ts-ignore: decorator
@inline function rowOffset(args: usize, r: i32, xc: i32, xh: i32): usize {
  const g = geometry(args);
  const c = r / g.kh, ki = r % g.kh;
  return <usize>(c * xc + ki * g.dh * xh) * 4;
}

/** The first `kw` (1 to 8) lanes of low:high at out. */
function storeRow(out: usize, kw: i32, low: v128, high: v128): void {
  store<f32>(out, f32x4.extract_lane(low, 0));
  if (kw > 1) store<f32>(out, f32x4.extract_lane(low, 1), 4);
  if (kw > 2) store<f32>(out, f32x4.extract_lane(low, 2), 8);
  if (kw > 3) store<f32>(out, f32x4.extract_lane(low, 3), 12);
  if (kw > 4) store<f32>(out, f32x4.extract_lane(high, 0), 16);
  if (kw > 5) store<f32>(out, f32x4.extract_lane(high, 1), 20);
  if (kw > 6) store<f32>(out, f32x4.extract_lane(high, 2), 24);
  if (kw > 7) store<f32>(out, f32x4.extract_lane(high, 3), 28);
}
