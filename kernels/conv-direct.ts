// Direct convolution forward for layers with few input channels (LeNet's first: one channel,
// 5x5), where the im2col GEMM's inner dimension C*kh*kw is too short to pay for packing its
// columns: each output row is the sum over the kernel taps of a shifted input row times one
// weight, computed 8 output pixels by 4 output channels at a time in registers. Stride 1,
// dilation 1, no padding, one group (src/backend/wasm/conv.ts's directApplies).
import { madd } from "./simd";
import { geometry } from "./window";

// args (i32 unless noted): 0 x, 1-4 x's element strides (N, C, H, W; W must be 1), 5 weight
// (dense [O, C, kh, kw]), 6 bias (dense [O], 0 = none), 7 out (dense [N, O, oh, ow]), then the 14
// geometry fields at byte 32 (window.ts), then 22 outChannels.
// @ts-ignore: decorator
@inline const OUT_CHANNELS: usize = 88;

/** Output channels computed together: each input vector loaded feeds this many accumulators. */
// @ts-ignore: decorator
@inline const CHANNEL_BLOCK: i32 = 4;

/**
 * One thread's share: tasks are (sample, block of 4 output channels) pairs, taken round robin.
 */
export function convDirectForward(args: usize, tid: i32, nthreads: i32): void {
  const outChannels = load<i32>(args, OUT_CHANNELS);
  const g = geometry(args);
  const blocks = (outChannels + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK;
  for (let task = tid; task < g.batch * blocks; task += nthreads) {
    const n = task / blocks;
    const first = (task % blocks) * CHANNEL_BLOCK;
    directBlock(args, n, first, min(CHANNEL_BLOCK, outChannels - first));
  }
}

/** Output channels [first, first + count) of sample n, every output row. */
function directBlock(args: usize, n: i32, first: i32, count: i32): void {
  const g = geometry(args);
  const x = <usize>load<u32>(args);
  const sn = load<i32>(args, 4), sc = load<i32>(args, 8), sh = load<i32>(args, 12);
  const weight = <usize>load<u32>(args, 20), bias = <usize>load<u32>(args, 24), out = <usize>load<u32>(args, 28);
  const outChannels = load<i32>(args, OUT_CHANNELS);
  const taps = g.channels * g.kh * g.kw;
  const plane = g.oh * g.ow;
  const sample = x + <usize>(n * sn) * 4;
  // Channels past `count` (the last block) repeat the last real one and are not stored.
  const o0 = first, o1 = first + min(1, count - 1), o2 = first + min(2, count - 1), o3 = first + min(3, count - 1);
  const w0 = weight + <usize>(o0 * taps) * 4, w1 = weight + <usize>(o1 * taps) * 4;
  const w2 = weight + <usize>(o2 * taps) * 4, w3 = weight + <usize>(o3 * taps) * 4;
  const b0 = bias == 0 ? f32x4.splat(0) : v128.load32_splat(bias + <usize>o0 * 4);
  const b1 = bias == 0 ? f32x4.splat(0) : v128.load32_splat(bias + <usize>o1 * 4);
  const b2 = bias == 0 ? f32x4.splat(0) : v128.load32_splat(bias + <usize>o2 * 4);
  const b3 = bias == 0 ? f32x4.splat(0) : v128.load32_splat(bias + <usize>o3 * 4);
  const outSample = out + <usize>(n * outChannels * plane) * 4;
  const r0 = outSample + <usize>(o0 * plane) * 4, r1 = outSample + <usize>(o1 * plane) * 4;
  const r2 = outSample + <usize>(o2 * plane) * 4, r3 = outSample + <usize>(o3 * plane) * 4;
  for (let y = 0; y < g.oh; y++) {
    const rowOut = <usize>(y * g.ow) * 4;
    let ox = 0;
    // 8 pixels (two vectors) by 4 channels: 8 accumulators.
    for (; ox + 8 <= g.ow; ox += 8) {
      let a0 = b0, a1 = b1, a2 = b2, a3 = b3, c0 = b0, c1 = b1, c2 = b2, c3 = b3;
      let tap: usize = 0;
      for (let c = 0; c < g.channels; c++) {
        for (let ki = 0; ki < g.kh; ki++) {
          const row = sample + <usize>(c * sc + (y + ki) * sh + ox) * 4;
          for (let kj = 0; kj < g.kw; kj++, tap += 4) {
            const left = v128.load(row + <usize>kj * 4), right = v128.load(row + <usize>(kj + 4) * 4);
            const v0 = v128.load32_splat(w0 + tap), v1 = v128.load32_splat(w1 + tap);
            const v2 = v128.load32_splat(w2 + tap), v3 = v128.load32_splat(w3 + tap);
            a0 = madd(left, v0, a0); c0 = madd(right, v0, c0);
            a1 = madd(left, v1, a1); c1 = madd(right, v1, c1);
            a2 = madd(left, v2, a2); c2 = madd(right, v2, c2);
            a3 = madd(left, v3, a3); c3 = madd(right, v3, c3);
          }
        }
      }
      const at = rowOut + <usize>ox * 4;
      v128.store(r0 + at, a0); v128.store(r0 + at + 16, c0);
      if (count > 1) { v128.store(r1 + at, a1); v128.store(r1 + at + 16, c1); }
      if (count > 2) { v128.store(r2 + at, a2); v128.store(r2 + at + 16, c2); }
      if (count > 3) { v128.store(r3 + at, a3); v128.store(r3 + at + 16, c3); }
    }
    // The row's last pixels one at a time (lane 0 of the same arithmetic).
    for (; ox < g.ow; ox++) {
      let a0 = b0, a1 = b1, a2 = b2, a3 = b3;
      let tap: usize = 0;
      for (let c = 0; c < g.channels; c++) {
        for (let ki = 0; ki < g.kh; ki++) {
          const row = sample + <usize>(c * sc + (y + ki) * sh + ox) * 4;
          for (let kj = 0; kj < g.kw; kj++, tap += 4) {
            const v = v128.load32_splat(row + <usize>kj * 4);
            a0 = madd(v, v128.load32_splat(w0 + tap), a0);
            a1 = madd(v, v128.load32_splat(w1 + tap), a1);
            a2 = madd(v, v128.load32_splat(w2 + tap), a2);
            a3 = madd(v, v128.load32_splat(w3 + tap), a3);
          }
        }
      }
      const at = rowOut + <usize>ox * 4;
      store<f32>(r0 + at, f32x4.extract_lane(a0, 0));
      if (count > 1) store<f32>(r1 + at, f32x4.extract_lane(a1, 0));
      if (count > 2) store<f32>(r2 + at, f32x4.extract_lane(a2, 0));
      if (count > 3) store<f32>(r3 + at, f32x4.extract_lane(a3, 0));
    }
  }
}
