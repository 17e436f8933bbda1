import type { WindowGeometry } from "../backend/backend.js";
import { backend } from "../backend/registry.js";
import { fail, fmtShape } from "../core/errors.js";
import { Tensor } from "../tensor/tensor.js";
import { fromStorage, record } from "./util.js";

export interface WindowOptions {
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  /** Value outside the input: 0 for convolution (default), -Infinity for max pooling. */
  padValue?: number;
}

/** Output size of a sliding window along one dim (PyTorch's formula, floor mode). */
export function windowOutputSize(input: number, kernel: number, stride: number, padding: number, dilation: number): number {
  return Math.floor((input + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

export function windowGeometry(op: string, shape: readonly number[], o: WindowOptions): WindowGeometry {
  if (shape.length !== 4) fail(op, `expected a 4-D input [N, C, H, W], got shape ${fmtShape(shape)}`);
  const [batch, channels, inHeight, inWidth] = shape;
  const outHeight = windowOutputSize(inHeight, o.kernelSize[0], o.stride[0], o.padding[0], o.dilation[0]);
  const outWidth = windowOutputSize(inWidth, o.kernelSize[1], o.stride[1], o.padding[1], o.dilation[1]);
  if (outHeight <= 0 || outWidth <= 0) {
    fail(op, `input of shape ${fmtShape(shape)} is too small for kernel ${fmtShape(o.kernelSize)} with padding ${fmtShape(o.padding)} and dilation ${fmtShape(o.dilation)} (output would be ${outHeight}x${outWidth})`);
  }
  return {
    batch, channels, inHeight, inWidth,
    kernelHeight: o.kernelSize[0], kernelWidth: o.kernelSize[1],
    strideH: o.stride[0], strideW: o.stride[1],
    padH: o.padding[0], padW: o.padding[1],
    dilationH: o.dilation[0], dilationW: o.dilation[1],
    outHeight, outWidth,
    padValue: o.padValue ?? 0,
  };
}

/**
 * im2col with autograd: [N, C, H, W] -> [N, C*kH*kW, L], L = outH*outW (PyTorch's F.unfold).
 * Convolution is a matmul of the weight with these columns; pooling is a reduction over them.
 */
export function unfold(x: Tensor, options: WindowOptions): Tensor {
  if (x.dtype !== "float32") fail("unfold", `expected a float32 input, got ${x.dtype}`);
  const g = windowGeometry("unfold", x.shape, options);
  const shape = [g.batch, g.channels * g.kernelHeight * g.kernelWidth, g.outHeight * g.outWidth];
  const out = fromStorage(backend().unfold(x.storage, x.layout, g), shape, "float32");
  return record("unfold", out, [x], (grad) => [fromStorage(backend().fold(grad.storage, grad.layout, g), x.shape, "float32")]);
}

/** col2im with autograd, the adjoint of unfold (PyTorch's F.fold): sums overlapping windows. */
export function fold(cols: Tensor, outputSize: [number, number], options: WindowOptions): Tensor {
  const [n, rows, length] = cols.shape.length === 3 ? cols.shape : fail("fold", `expected a 3-D input [N, C*kH*kW, L], got shape ${fmtShape(cols.shape)}`);
  const kernel = options.kernelSize[0] * options.kernelSize[1];
  if (rows % kernel !== 0) fail("fold", `dimension 1 of the input (${rows}) must be divisible by the kernel size product (${kernel})`);
  const g = windowGeometry("fold", [n, rows / kernel, outputSize[0], outputSize[1]], options);
  if (g.outHeight * g.outWidth !== length) fail("fold", `expected ${g.outHeight * g.outWidth} sliding blocks for output size ${fmtShape(outputSize)}, got ${length}`);
  const out = fromStorage(backend().fold(cols.storage, cols.layout, g), [n, g.channels, outputSize[0], outputSize[1]], "float32");
  return record("fold", out, [cols], (grad) => [fromStorage(backend().unfold(grad.storage, grad.layout, g), cols.shape, "float32")]);
}
