// Max and average pooling, forward and backward, over [N, C, H, W]: one (image, channel) plane
// per task, planes shared out across threads. Window bounds follow PyTorch's CPU kernels (and
// src/backend/js/pool.ts, the reference): windows clip to the input, ties keep the first
// maximum, NaN wins. Forward passes take 4 output columns at once with SIMD where the input rows
// are contiguous and the stride is 1 or 2 (2 is the common pooling stride: lanes 0, 2, 4, 6 of
// two loads); everything else, and the window edges, run the scalar loop.

import { Geometry, geometry } from "./window";

// Operand fields (PoolOperands), then the 14 window geometry fields (i32, window.ts's
// Geometry), then the average divisor (f32).
// @ts-ignore: decorator
@inline const DIVISOR_OVERRIDE: usize = 88;
/** maxPoolBackward: the forward's pooled values (dense [N, C, outH, outW]) when a ReLU's backward is folded in, or 0. */
// @ts-ignore: decorator
@inline const RELU_POOLED: usize = 92;
/** maxPool: nonzero to pool relu(x) (each element through the ReLU before the comparisons). */
// @ts-ignore: decorator
@inline const RELU_FIRST: usize = 96;

/** The 8 operand fields every pooling kernel's args block starts with. */
class PoolOperands {
  input: u32; sn: i32; sc: i32; sh: i32; sw: i32;
  out: u32; indices: u32; countIncludePad: i32;
}

// @ts-ignore: decorator
@inline function operands(args: usize): PoolOperands {
  return changetype<PoolOperands>(args);
}

/** Plane q = n * C + c of the input operand (any strides). */
// @ts-ignore: decorator
@inline function inputPlane(a: PoolOperands, g: Geometry, q: i32): usize {
  const n = q / g.channels, c = q % g.channels;
  return <usize>a.input + <usize>(n * a.sn + c * a.sc) * 4;
}

/** The first in-bounds start of a dilated window starting at `start` (PyTorch steps by the dilation). */
// @ts-ignore: decorator
@inline function firstInside(start: i32, dilation: i32): i32 {
  return start >= 0 ? start : start + ((-start + dilation - 1) / dilation) * dilation;
}

/**
 * Output columns [first, end) whose windows lie wholly inside the row (no clipping), so they can
 * run 4 at a time; end - first may be <= 0.
 */
// @ts-ignore: decorator
@inline function interiorStart(g: Geometry): i32 {
  return (g.pw + g.sw - 1) / g.sw;
}

// @ts-ignore: decorator
@inline function interiorEnd(g: Geometry): i32 {
  const last = g.w - 1 + g.pw - (g.kw - 1) * g.dw;
  return last < 0 ? 0 : min(last / g.sw + 1, g.ow);
}

/** Input columns col, col + stride, col + 2 stride, col + 3 stride of a contiguous row (stride 1 or 2). */
// @ts-ignore: decorator
@inline function load4(at: usize, stride2: bool): v128 {
  if (!stride2) return v128.load(at);
  return v128.shuffle<f32>(v128.load(at), v128.load(at, 16), 0, 2, 4, 6);
}

/**
 * args: [x, xsN, xsC, xsH, xsW, values, indices, unused, then the 14 geometry fields
 * batch channels inH inW kernelH kernelW strideH strideW padH padW dilationH dilationW outH outW].
 * values (f32) and indices (i32, h * W + w in the plane) are [N, C, oh, ow] contiguous. With
 * RELU_FIRST set it pools relu(x) (x < 0 ? 0 : x, NaN and -0 kept) without it being written:
 * the values and indices are exactly those of pooling the ReLU's output.
 */
export function maxPool(args: usize, tid: i32, nthreads: i32): void {
  const a = operands(args);
  const reluFirst = load<i32>(args, RELU_FIRST) != 0;
  const sh = a.sh, sw = a.sw;
  const values = <usize>a.out, indices = <usize>a.indices;
  const g = geometry(args);
  const planes = g.batch * g.channels;
  const outPlane = <usize>(g.oh * g.ow);
  const simd = sw == 1 && (g.sw == 1 || g.sw == 2);
  const stride2 = g.sw == 2;
  const xa = interiorStart(g), xb = interiorEnd(g);
  const lanes = i32x4(0, g.sw, 2 * g.sw, 3 * g.sw);
  for (let q = tid; q < planes; q += nthreads) {
    const plane = inputPlane(a, g, q);
    let o = <usize>q * outPlane;
    for (let y = 0; y < g.oh; y++) {
      const hStart = y * g.sh - g.ph;
      const hEnd = min(hStart + (g.kh - 1) * g.dh + 1, g.h);
      const h0 = firstInside(hStart, g.dh);
      let xo = 0;
      while (xo < g.ow) {
        if (simd && xo >= xa && xo + 4 <= xb) {
          const wStart = xo * g.sw - g.pw;
          let best = f32x4.splat(-Infinity);
          let bestIndex = i32x4.add(i32x4.splat(h0 * g.w + wStart), lanes);
          for (let h = h0; h < hEnd; h += g.dh) {
            const row = plane + <usize>(h * sh) * 4;
            for (let kj = 0; kj < g.kw; kj++) {
              const col = wStart + kj * g.dw;
              let v = load4(row + <usize>col * 4, stride2);
              if (reluFirst) v = v128.andnot(v, f32x4.lt(v, f32x4.splat(0)));
              const wins = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
              best = v128.bitselect(v, best, wins);
              bestIndex = v128.bitselect(i32x4.add(i32x4.splat(h * g.w + col), lanes), bestIndex, wins);
            }
          }
          v128.store(values + (o + <usize>xo) * 4, best);
          v128.store(indices + (o + <usize>xo) * 4, bestIndex);
          xo += 4;
          continue;
        }
        const wStart = xo * g.sw - g.pw;
        const wEnd = min(wStart + (g.kw - 1) * g.dw + 1, g.w);
        const w0 = firstInside(wStart, g.dw);
        let best: f32 = -Infinity;
        let bestIndex = h0 * g.w + w0;
        for (let h = h0; h < hEnd; h += g.dh) {
          const row = plane + <usize>(h * sh) * 4;
          for (let w = w0; w < wEnd; w += g.dw) {
            let v = load<f32>(row + <usize>(w * sw) * 4);
            if (reluFirst && v < 0) v = 0;
            if (v > best || v != v) {
              best = v;
              bestIndex = h * g.w + w;
            }
          }
        }
        store<f32>(values + (o + <usize>xo) * 4, best);
        store<i32>(indices + (o + <usize>xo) * 4, bestIndex);
        xo++;
      }
      o += <usize>g.ow;
    }
  }
}

/**
 * Max pooling's gradient: zeros the [N, C, H, W] contiguous output, then adds each output
 * gradient at its plane index. args: [grad, gsN, gsC, gsH, gsW, out, indices, unused, geometry].
 */
export function maxPoolBackward(args: usize, tid: i32, nthreads: i32): void {
  const a = operands(args);
  const sh = a.sh, sw = a.sw;
  const out = <usize>a.out, indices = <usize>a.indices;
  const g = geometry(args);
  const planes = g.batch * g.channels;
  const planeSize = <usize>(g.h * g.w);
  const pooled = <usize>load<u32>(args, RELU_POOLED);
  for (let q = tid; q < planes; q += nthreads) {
    const plane = out + <usize>q * planeSize * 4;
    memory.fill(plane, 0, planeSize * 4);
    const gradPlane = inputPlane(a, g, q);
    const outputOffset = <usize>q * <usize>(g.oh * g.ow) * 4;
    let o = indices + outputOffset;
    let value = pooled + outputOffset;
    for (let y = 0; y < g.oh; y++) {
      const gradRow = gradPlane + <usize>(y * sh) * 4;
      for (let xo = 0; xo < g.ow; xo++, o += 4, value += 4) {
        // An index past the plane (a dilated window wholly outside the input) has no element.
        const index = <usize>load<u32>(o);
        if (index >= planeSize) continue;
        // A folded ReLU's backward: nothing passes where the ReLU output at the index, which is
        // the pooled value, is <= 0 (NaN passes).
        if (pooled != 0 && load<f32>(value) <= 0) continue;
        const at = plane + index * 4;
        store<f32>(at, load<f32>(at) + load<f32>(gradRow + <usize>(xo * sw) * 4));
      }
    }
  }
}

/** Rows of a window starting at row hStart that PyTorch's padded divisor counts (clipped at the bottom padding). */
// @ts-ignore: decorator
@inline function paddedRows(g: Geometry, hStart: i32): i32 {
  return min(hStart + g.kh, g.h + g.ph) - hStart;
}

/** The divisor of one window: PyTorch's avg_pool2d rule. */
// @ts-ignore: decorator
@inline function avgDivisor(fixedDivisor: f32, countIncludePad: bool, paddedSize: i32, clippedSize: i32): f32 {
  if (fixedDivisor != 0) return fixedDivisor;
  return <f32>(countIncludePad ? paddedSize : clippedSize);
}

/**
 * args: [x, xsN, xsC, xsH, xsW, out, unused, countIncludePad, geometry, divisorOverride (f32, 0 = none)].
 * out is [N, C, oh, ow] contiguous; a window wholly in the padding gives 0, as in PyTorch.
 */
export function avgPool(args: usize, tid: i32, nthreads: i32): void {
  const a = operands(args);
  const sh = a.sh, sw = a.sw;
  const out = <usize>a.out;
  const countIncludePad = a.countIncludePad != 0;
  const fixedDivisor = load<f32>(args + DIVISOR_OVERRIDE);
  const g = geometry(args);
  const planes = g.batch * g.channels;
  const outPlane = <usize>(g.oh * g.ow);
  const simd = sw == 1 && (g.sw == 1 || g.sw == 2);
  const stride2 = g.sw == 2;
  const xa = interiorStart(g), xb = interiorEnd(g);
  for (let q = tid; q < planes; q += nthreads) {
    const plane = inputPlane(a, g, q);
    let o = out + <usize>q * outPlane * 4;
    for (let y = 0; y < g.oh; y++) {
      const hStart = y * g.sh - g.ph;
      const padded = paddedRows(g, hStart);
      const h0 = max(hStart, 0), h1 = min(hStart + padded, g.h);
      let xo = 0;
      while (xo < g.ow) {
        if (simd && xo >= xa && xo + 4 <= xb && h0 < h1) {
          // Interior columns: every lane's window is kw wide, so the divisor is one number.
          const wStart = xo * g.sw - g.pw;
          let sum = f32x4.splat(0);
          for (let h = h0; h < h1; h++) {
            const row = plane + <usize>(h * sh) * 4;
            for (let kj = 0; kj < g.kw; kj++) sum = f32x4.add(sum, load4(row + <usize>(wStart + kj) * 4, stride2));
          }
          const divisor = avgDivisor(fixedDivisor, countIncludePad, padded * g.kw, (h1 - h0) * g.kw);
          v128.store(o + <usize>xo * 4, f32x4.div(sum, f32x4.splat(divisor)));
          xo += 4;
          continue;
        }
        const wStart = xo * g.sw - g.pw;
        const wPadded = min(wStart + g.kw, g.w + g.pw) - wStart;
        const w0 = max(wStart, 0), w1 = min(wStart + wPadded, g.w);
        let result: f32 = 0;
        if (h0 < h1 && w0 < w1) {
          let sum: f32 = 0;
          for (let h = h0; h < h1; h++) {
            const row = plane + <usize>(h * sh) * 4;
            for (let w = w0; w < w1; w++) sum += load<f32>(row + <usize>(w * sw) * 4);
          }
          result = sum / avgDivisor(fixedDivisor, countIncludePad, padded * wPadded, (h1 - h0) * (w1 - w0));
        }
        store<f32>(o + <usize>xo * 4, result);
        xo++;
      }
      o += <usize>g.ow * 4;
    }
  }
}

/**
 * Average pooling's gradient: zeros the [N, C, H, W] contiguous output, then spreads each output
 * gradient / divisor over its clipped window. args: as avgPool's, with the gradient (any strides,
 * [N, C, oh, ow]) as the input operand.
 */
export function avgPoolBackward(args: usize, tid: i32, nthreads: i32): void {
  const a = operands(args);
  const sh = a.sh, sw = a.sw;
  const out = <usize>a.out;
  const countIncludePad = a.countIncludePad != 0;
  const fixedDivisor = load<f32>(args + DIVISOR_OVERRIDE);
  const g = geometry(args);
  const planes = g.batch * g.channels;
  const planeSize = <usize>(g.h * g.w);
  for (let q = tid; q < planes; q += nthreads) {
    const plane = out + <usize>q * planeSize * 4;
    memory.fill(plane, 0, planeSize * 4);
    const gradPlane = inputPlane(a, g, q);
    for (let y = 0; y < g.oh; y++) {
      const hStart = y * g.sh - g.ph;
      const padded = paddedRows(g, hStart);
      const h0 = max(hStart, 0), h1 = min(hStart + padded, g.h);
      if (h0 >= h1) continue;
      for (let xo = 0; xo < g.ow; xo++) {
        const wStart = xo * g.sw - g.pw;
        const wPadded = min(wStart + g.kw, g.w + g.pw) - wStart;
        const w0 = max(wStart, 0), w1 = min(wStart + wPadded, g.w);
        if (w0 >= w1) continue;
        const divisor = avgDivisor(fixedDivisor, countIncludePad, padded * wPadded, (h1 - h0) * (w1 - w0));
        const share = load<f32>(gradPlane + <usize>(y * sh + xo * sw) * 4) / divisor;
        const share4 = f32x4.splat(share);
        for (let h = h0; h < h1; h++) {
          const row = plane + <usize>(h * g.w) * 4;
          let w = w0;
          for (; w + 4 <= w1; w += 4) {
            const at = row + <usize>w * 4;
            v128.store(at, f32x4.add(v128.load(at), share4));
          }
          for (; w < w1; w++) {
            const at = row + <usize>w * 4;
            store<f32>(at, load<f32>(at) + share);
          }
        }
      }
    }
  }
}
