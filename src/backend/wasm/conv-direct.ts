import type { Storage } from "../../core/dtype.js";
import type { Layout } from "../../core/layout.js";
import type { ConvGeometry } from "../backend.js";
import { stage, stageDense, unstage } from "./operands.js";
import type { WasmRuntime } from "./runtime.js";
import { geometryFields } from "./window.js";

/**
 * Direct convolution forward (kernels/conv-direct.ts) for windows too short for im2col's GEMM to
 * pay for packing columns: LeNet's first layer (one input channel, 5x5) spends most of an im2col
 * pass packing 25-float columns for a 20-row GEMM.
 */

/** The most C*kh*kw a direct convolution takes: past it, im2col's GEMM reuses packed columns better. */
const MAX_TAPS = 32;
// As in conv.ts: smaller jobs are not split across threads.
const MIN_MACS_PER_THREAD = 64 * 1024;

/** Whether conv.ts sends a forward convolution here: stride 1, no dilation or padding, one group, at most MAX_TAPS taps. */
export function directApplies(g: ConvGeometry): boolean {
  return (
    g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 && g.dilationW === 1 && g.padH === 0 && g.padW === 0 &&
    g.groups === 1 && g.channels * g.kernelHeight * g.kernelWidth <= MAX_TAPS && g.outHeight > 0 && g.outWidth > 0
  );
}

/**
 * The direct convolution of [N, C, H, W] (rows contiguous; other strides any) by a [O, C, kh, kw]
 * weight, plus bias, into a fresh [N, O, oh, ow]; null when the input's rows are not contiguous
 * (the caller takes im2col).
 */
export function directConv2dOn(rt: WasmRuntime, x: Storage, xl: Layout, w: Storage, wl: Layout, bias: Storage | null, bl: Layout | null, g: ConvGeometry): Float32Array | null {
  rt.reset();
  const sx = stage(rt, x, xl);
  if (sx.strides[3] !== 1) return null;
  const weight = stageDense(rt, w, wl);
  const biasPtr = bias !== null && bl !== null ? stageDense(rt, bias, bl) : 0;
  const size = g.batch * g.outChannels * g.outHeight * g.outWidth;
  const out = rt.alloc(size * 4);
  const args = rt.alloc(23 * 4);
  rt.i32(args, 23).set([sx.ptr, ...sx.strides, weight, biasPtr, out, ...geometryFields(g), g.outChannels]);
  const macs = size * g.channels * g.kernelHeight * g.kernelWidth;
  rt.run("convDirectForward", args, rt.sharesFor(Math.floor(macs / MIN_MACS_PER_THREAD)));
  return unstage(rt, out, size);
}
