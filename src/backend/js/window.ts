import { dtypeOfStorage, type Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import type { WindowGeometry } from "../backend.js";
import { copy } from "./elementwise.js";

/**
 * im2col: every sliding window becomes one column, so a convolution is one GEMM and pooling is
 * one reduction. Column rows are ordered (channel, kernel row, kernel col), PyTorch's F.unfold order.
 */
export function unfold(x: Storage, xl: Layout, g: WindowGeometry): Float32Array {
  const rows = g.channels * g.kernelHeight * g.kernelWidth;
  const L = g.outHeight * g.outWidth;
  return unfoldInto(x, xl, g, rows * L, L);
}

/**
 * im2col into a new array where column row r of sample n starts at n * sampleStride +
 * r * rowStride (L values each): [N, K, L] (K*L, L) or, for a batch-folded GEMM, [K, N*L] (L, N*L).
 */
export function unfoldInto(x: Storage, xl: Layout, g: WindowGeometry, sampleStride: number, rowStride: number): Float32Array {
  const src = xl.isContiguous() ? x : copy(x, xl, dtypeOfStorage(x));
  const base = xl.isContiguous() ? xl.offset : 0;
  const { batch, channels, inHeight: H, inWidth: W, kernelHeight: kh, kernelWidth: kw, outHeight: oh, outWidth: ow } = g;
  const L = oh * ow;
  const rows = channels * kh * kw;
  const out = new Float32Array(batch * rows * L);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const plane = base + (n * channels + c) * H * W;
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          let o = n * sampleStride + ((c * kh + ki) * kw + kj) * rowStride;
          for (let y = 0; y < oh; y++) {
            const iy = y * g.strideH - g.padH + ki * g.dilationH;
            const rowInside = iy >= 0 && iy < H;
            const rowStart = plane + iy * W;
            for (let xo = 0; xo < ow; xo++) {
              const ix = xo * g.strideW - g.padW + kj * g.dilationW;
              out[o++] = rowInside && ix >= 0 && ix < W ? src[rowStart + ix] : g.padValue;
            }
          }
        }
      }
    }
  }
  return out;
}

/** col2im: the adjoint of unfold; values of overlapping windows are summed, padding is dropped. */
export function fold(cols: Storage, colsLayout: Layout, g: WindowGeometry): Float32Array {
  const src = colsLayout.isContiguous() ? cols : copy(cols, colsLayout, "float32");
  const base = colsLayout.isContiguous() ? colsLayout.offset : 0;
  const { batch, channels, inHeight: H, inWidth: W, kernelHeight: kh, kernelWidth: kw, outHeight: oh, outWidth: ow } = g;
  const L = oh * ow;
  const rows = channels * kh * kw;
  const out = new Float32Array(batch * channels * H * W);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const plane = (n * channels + c) * H * W;
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          let o = base + (n * rows + (c * kh + ki) * kw + kj) * L;
          for (let y = 0; y < oh; y++) {
            const iy = y * g.strideH - g.padH + ki * g.dilationH;
            if (iy < 0 || iy >= H) {
              o += ow;
              continue;
            }
            const rowStart = plane + iy * W;
            for (let xo = 0; xo < ow; xo++, o++) {
              const ix = xo * g.strideW - g.padW + kj * g.dilationW;
              if (ix >= 0 && ix < W) out[rowStart + ix] += src[o];
            }
          }
        }
      }
    }
  }
  return out;
}
