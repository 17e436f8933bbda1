// Max and average pooling over [N, C, H, W], read through any strides: the reference kernels
// (the wasm backend's oracle). Window bounds follow PyTorch's CPU kernels (MaxPoolKernel.cpp,
// AvgPoolKernel.cpp) line for line, so ceil-mode windows, ties and NaN behave the same.
import type { Storage } from "../../core/dtype.js";
import { Layout } from "../../core/layout.js";
import type { AvgPoolDivisor, ConvGeometry, ConvGrads, ConvGradsWanted, WindowGeometry } from "../backend.js";
import { conv2d, conv2dBackward } from "./conv.js";

/** Each output's input element is at offset + n*sN + c*sC + h*sH + w*sW. */
function planeOffsets(xl: Layout, g: WindowGeometry): number[] {
  const [sn, sc] = xl.strides;
  const offsets: number[] = [];
  for (let n = 0; n < g.batch; n++) for (let c = 0; c < g.channels; c++) offsets.push(xl.offset + n * sn + c * sc);
  return offsets;
}

/** Max pooling of a convolution's output (of its ReLU with `reluFirst`): the two kernels one after the other. */
export function conv2dMaxPool(x: Storage, xl: Layout, w: Storage, wl: Layout, bias: Storage | null, bl: Layout | null, conv: ConvGeometry, pool: WindowGeometry, reluFirst: boolean): { values: Float32Array; indices: Int32Array } {
  const out = conv2d(x, xl, w, wl, bias, bl, conv);
  return maxPool(out, Layout.contiguous([conv.batch, conv.outChannels, conv.outHeight, conv.outWidth]), pool, reluFirst);
}

/** The first in-bounds start of a dilated window starting at `start` (PyTorch steps by the dilation). */
function firstInside(start: number, dilation: number): number {
  while (start < 0) start += dilation;
  return start;
}

export function maxPool(x: Storage, xl: Layout, g: WindowGeometry, reluFirst = false): { values: Float32Array; indices: Int32Array } {
  const { inHeight: H, inWidth: W, outHeight: oh, outWidth: ow } = g;
  const [, , sh, sw] = xl.strides;
  const values = new Float32Array(g.batch * g.channels * oh * ow);
  const indices = new Int32Array(values.length);
  let o = 0;
  for (const plane of planeOffsets(xl, g)) {
    for (let y = 0; y < oh; y++) {
      const hStart = y * g.strideH - g.padH;
      const hEnd = Math.min(hStart + (g.kernelHeight - 1) * g.dilationH + 1, H);
      const h0 = firstInside(hStart, g.dilationH);
      for (let xo = 0; xo < ow; xo++, o++) {
        const wStart = xo * g.strideW - g.padW;
        const wEnd = Math.min(wStart + (g.kernelWidth - 1) * g.dilationW + 1, W);
        const w0 = firstInside(wStart, g.dilationW);
        let best = -Infinity;
        let bestIndex = h0 * W + w0;
        for (let h = h0; h < hEnd; h += g.dilationH) {
          for (let w = w0; w < wEnd; w += g.dilationW) {
            let v = x[plane + h * sh + w * sw];
            // The ReLU as its kernel computes it: x < 0 ? 0 : x (NaN and -0 kept).
            if (reluFirst && v < 0) v = 0;
            // `v !== v`: NaN wins and stays (a later NaN takes the index, as in PyTorch).
            if (v > best || v !== v) {
              best = v;
              bestIndex = h * W + w;
            }
          }
        }
        values[o] = best;
        indices[o] = bestIndex;
      }
    }
  }
  return { values, indices };
}

export function maxPoolBackward(grad: Storage, gradLayout: Layout, indices: Int32Array, g: WindowGeometry, reluPooled: Float32Array | null = null): Float32Array {
  const planeSize = g.inHeight * g.inWidth;
  const out = new Float32Array(g.batch * g.channels * planeSize);
  const [sn, sc, sh, sw] = gradLayout.strides;
  let o = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let c = 0; c < g.channels; c++) {
      const plane = (n * g.channels + c) * planeSize;
      const gradPlane = gradLayout.offset + n * sn + c * sc;
      for (let y = 0; y < g.outHeight; y++) {
        for (let xo = 0; xo < g.outWidth; xo++, o++) {
          // A dilated window wholly outside the input names h0 * W + w0 past its clipped start,
          // which can leave the plane (PyTorch then writes into the next plane); drop those.
          if (indices[o] >= planeSize) continue;
          // A folded ReLU's backward: nothing passes where the ReLU output at the index (the
          // pooled value) is <= 0.
          if (reluPooled !== null && reluPooled[o] <= 0) continue;
          out[plane + indices[o]] += grad[gradPlane + y * sh + xo * sw];
        }
      }
    }
  }
  return out;
}

/** One output's window clipped to the input, and its divisor, as PyTorch's avg_pool2d computes them. */
interface AvgWindow {
  h0: number;
  h1: number;
  w0: number;
  w1: number;
  divisor: number;
}

function avgWindow(g: WindowGeometry, y: number, xo: number, d: AvgPoolDivisor): AvgWindow {
  const hStart = y * g.strideH - g.padH;
  const wStart = xo * g.strideW - g.padW;
  const hEnd = Math.min(hStart + g.kernelHeight, g.inHeight + g.padH);
  const wEnd = Math.min(wStart + g.kernelWidth, g.inWidth + g.padW);
  const padded = (hEnd - hStart) * (wEnd - wStart);
  const h0 = Math.max(hStart, 0);
  const w0 = Math.max(wStart, 0);
  const h1 = Math.min(hEnd, g.inHeight);
  const w1 = Math.min(wEnd, g.inWidth);
  const divisor = d.divisorOverride ?? (d.countIncludePad ? padded : (h1 - h0) * (w1 - w0));
  return { h0, h1, w0, w1, divisor };
}

export function avgPool(x: Storage, xl: Layout, g: WindowGeometry, d: AvgPoolDivisor): Float32Array {
  const [, , sh, sw] = xl.strides;
  const out = new Float32Array(g.batch * g.channels * g.outHeight * g.outWidth);
  let o = 0;
  for (const plane of planeOffsets(xl, g)) {
    for (let y = 0; y < g.outHeight; y++) {
      for (let xo = 0; xo < g.outWidth; xo++, o++) {
        const win = avgWindow(g, y, xo, d);
        // A window wholly in the padding (possible only in ceil mode) gives 0, as in PyTorch.
        if (win.h0 >= win.h1 || win.w0 >= win.w1) continue;
        let sum = 0;
        for (let h = win.h0; h < win.h1; h++) for (let w = win.w0; w < win.w1; w++) sum += x[plane + h * sh + w * sw];
        out[o] = sum / win.divisor;
      }
    }
  }
  return out;
}

export function avgPoolBackward(grad: Storage, gradLayout: Layout, g: WindowGeometry, d: AvgPoolDivisor): Float32Array {
  const planeSize = g.inHeight * g.inWidth;
  const out = new Float32Array(g.batch * g.channels * planeSize);
  const [sn, sc, sh, sw] = gradLayout.strides;
  for (let n = 0; n < g.batch; n++) {
    for (let c = 0; c < g.channels; c++) {
      const plane = (n * g.channels + c) * planeSize;
      const gradPlane = gradLayout.offset + n * sn + c * sc;
      for (let y = 0; y < g.outHeight; y++) {
        for (let xo = 0; xo < g.outWidth; xo++) {
          const win = avgWindow(g, y, xo, d);
          if (win.h0 >= win.h1 || win.w0 >= win.w1) continue;
          const share = grad[gradPlane + y * sh + xo * sw] / win.divisor;
          for (let h = win.h0; h < win.h1; h++) for (let w = win.w0; w < win.w1; w++) out[plane + h * g.inWidth + w] += share;
        }
      }
    }
  }
  return out;
}

/** The convolution's weight and bias gradients from max pooling's (of its output): the two backward kernels one after the other. */
export function conv2dBackwardFromMaxPool(poolGrad: Storage, poolGradLayout: Layout, indices: Int32Array, pool: WindowGeometry, reluPooled: Float32Array | null, x: Storage, xl: Layout, weight: Storage, wl: Layout, g: ConvGeometry, want: ConvGradsWanted): ConvGrads {
  const grad = maxPoolBackward(poolGrad, poolGradLayout, indices, pool, reluPooled);
  return conv2dBackward(grad, Layout.contiguous([g.batch, g.outChannels, g.outHeight, g.outWidth]), x, xl, weight, wl, g, want);
}
