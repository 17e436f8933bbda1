import type { Storage } from "../../core/dtype.js";
import { Layout } from "../../core/layout.js";
import type { ConvGeometry, ConvGrads, ConvGradsWanted, WindowGeometry } from "../backend.js";
import { conv2dBackwardOn } from "./conv.js";
import { stage, stageArray, unstage } from "./operands.js";
import { maxPoolBackwardOn } from "./pool.js";
import type { WasmRuntime } from "./runtime.js";
import { geometryFields } from "./window.js";

/**
 * A convolution's weight and bias gradients from the gradient of max pooling over its output
 * (kernels/conv-pool.ts): a sum over the pooled outputs instead of a scatter and a dense
 * weight gradient over every convolution output.
 */

// Multiply-adds per thread below which one thread does them all.
const MIN_MACS_PER_THREAD = 64 * 1024;

/** The most taps in a kernel row the kernel takes (two vectors' worth). */
const MAX_ROW_TAPS = 8;

/** Whether the kernel takes the convolution: no padding, one group, unit column dilation, kernel rows of at most 8 taps. */
export function fromMaxPoolApplies(g: ConvGeometry): boolean {
  return g.padH === 0 && g.padW === 0 && g.groups === 1 && g.dilationW === 1 && g.kernelWidth <= MAX_ROW_TAPS;
}

/**
 * conv2dBackward of the gradient maxPoolBackward(poolGrad, indices, pool, reluPooled) gives.
 * An input gradient, convolutions the kernel does not take and inputs whose rows are not
 * contiguous scatter the gradient and take the usual backward pass.
 */
export function conv2dBackwardFromMaxPoolOn(rt: WasmRuntime, poolGrad: Float32Array, poolGradLayout: Layout, indices: Int32Array, pool: WindowGeometry, reluPooled: Float32Array | null, x: Float32Array, xl: Layout, w: Storage, wl: Layout, g: ConvGeometry, want: ConvGradsWanted): ConvGrads {
  const scattered = () => {
    const grad = maxPoolBackwardOn(rt, poolGrad, poolGradLayout, indices, pool, reluPooled);
    return conv2dBackwardOn(rt, grad, Layout.contiguous([g.batch, g.outChannels, g.outHeight, g.outWidth]), x, xl, w, wl, g, want);
  };
  if (want.input || !fromMaxPoolApplies(g)) return scattered();
  rt.reset();
  const sx = stage(rt, x, xl);
  if (sx.strides[3] !== 1) return scattered();
  const sg = stage(rt, poolGrad, poolGradLayout);
  const count = g.batch * g.outChannels * pool.outHeight * pool.outWidth;
  const stagedIndices = stageArray(rt, indices);
  const stagedValues = stageArray(rt, reluPooled);
  const taps = g.channels * g.kernelHeight * g.kernelWidth;
  const weightGrad = rt.alloc(g.outChannels * taps * 4);
  const biasGrad = want.bias ? rt.alloc(g.outChannels * 4) : 0;
  // Where each convolution output's input window starts in a sample of x.
  const plane = g.outHeight * g.outWidth;
  const windows = rt.alloc(plane * 4);
  const windowOffsets = rt.i32(windows, plane);
  for (let h = 0, index = 0; h < g.outHeight; h++) {
    for (let w = 0; w < g.outWidth; w++, index++) windowOffsets[index] = h * g.strideH * sx.strides[2] + w * g.strideW;
  }
  // The kernel's vector loads may read up to 7 floats past an input window's row: past the end of x, into what follows.
  const args = rt.alloc(32 * 4);
  rt.i32(args, 32).set([
    sg.ptr, ...sg.strides, stagedIndices, stagedValues, sx.ptr,
    ...geometryFields(g),
    ...sx.strides, g.outChannels, pool.outHeight, pool.outWidth, weightGrad, biasGrad, windows,
  ]);
  const threads = rt.sharesFor(Math.floor((count * taps) / MIN_MACS_PER_THREAD), 1);
  rt.run("convWeightGradFromMaxPool", args, threads > 1 ? g.outChannels : 1);
  return {
    input: null,
    weight: want.weight ? unstage(rt, weightGrad, g.outChannels * taps) : null,
    bias: want.bias ? unstage(rt, biasGrad, g.outChannels) : null,
  };
}
