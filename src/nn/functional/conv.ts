// Convolutions (F.conv1d, F.conv2d, F.convTranspose1d, F.convTranspose2d). conv1d/conv2d are one
// recorded op each (ops/conv.ts: im2col + GEMM, a hand-written backward); the transposed ones are
// a matmul and col2im (`fold`), so their gradients come from the tape.
import { fail, fmtShape } from "../../core/errors.js";
import { conv2dOp } from "../../ops/conv.js";
import { cat } from "../../ops/shape.js";
import { fold as col2im, unfold as im2col } from "../../ops/window.js";
import { zeros } from "../../tensor/creation.js";
import { Tensor } from "../../tensor/tensor.js";

/**
 * The optional bias may come positionally, as in PyTorch (`F.conv2d(x, w, b, { stride: 2 })`),
 * or in the options (`F.conv2d(x, w, { bias: b, stride: 2 })`).
 */
function splitBias<O extends { bias?: Tensor | null }>(biasOrOptions: Tensor | null | O | undefined, options: O | undefined): O {
  if (biasOrOptions === undefined) return options ?? ({} as O);
  if (biasOrOptions === null || biasOrOptions instanceof Tensor) return { ...(options ?? ({} as O)), bias: biasOrOptions };
  return biasOrOptions;
}

export type ConvPadding = number | number[] | "same" | "valid";

export interface ConvOptions {
  bias?: Tensor | null;
  stride?: number | number[];
  padding?: ConvPadding;
  dilation?: number | number[];
  groups?: number;
}

export interface ConvTransposeOptions {
  bias?: Tensor | null;
  stride?: number | number[];
  padding?: number | number[];
  outputPadding?: number | number[];
  groups?: number;
  dilation?: number | number[];
}

/** An int-or-tuple argument as a tuple of `n` positive (or, with `min` 0, non-negative) ints. */
function tuple(op: string, name: string, value: number | number[], n: number, min = 1): number[] {
  const list = typeof value === "number" ? new Array<number>(n).fill(value) : value.length === 1 ? new Array<number>(n).fill(value[0]) : value.slice();
  if (list.length !== n) fail(op, `${name} must be an int or a list of ${n} ints, got ${JSON.stringify(value)}`);
  for (const v of list) if (!Number.isInteger(v) || v < min) fail(op, `${name} must hold integers >= ${min}, got ${JSON.stringify(value)}`);
  return list;
}

/** PyTorch's rank check, naming the expected layout: [N, C, H, W] or unbatched [C, H, W]. */
function batched(op: string, input: Tensor, spatial: number): { x: Tensor; unbatched: boolean } {
  const names = spatial === 1 ? "L" : "H, W";
  if (input.ndim === spatial + 2) return { x: input, unbatched: false };
  if (input.ndim === spatial + 1) return { x: input.unsqueeze(0), unbatched: true };
  return fail(op, `expected a ${spatial + 1}-D (unbatched [C, ${names}]) or ${spatial + 2}-D (batched [N, C, ${names}]) input, got shape ${fmtShape(input.shape)}`);
}

/** Zero-pads dim `dim` of `x` by `after` at the end (the extra half of an even "same" padding). */
function padEnd(x: Tensor, dim: number, after: number): Tensor {
  if (after === 0) return x;
  const shape = x.shape.slice();
  shape[dim] = after;
  return cat([x, zeros(shape)], dim);
}

/**
 * The shared 2-D core: x [N, C, H, W], weight [O, C/groups, kH, kW], one recorded op (see
 * ops/conv.ts). Only the extra trailing padding of an even "same" kernel is a separate step.
 */
function conv2dCore(op: string, x: Tensor, weight: Tensor, bias: Tensor | null | undefined, stride: number[], padding: number[], extraPad: number[], dilation: number[], groups: number): Tensor {
  const outChannels = weight.shape[0];
  if (outChannels % groups !== 0) fail(op, `out channels (${outChannels}) must be divisible by groups (${groups})`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outChannels)) fail(op, `expected bias of shape [${outChannels}], got ${fmtShape(bias.shape)}`);
  const padded = padEnd(padEnd(x, 2, extraPad[0]), 3, extraPad[1]);
  return conv2dOp(padded, weight, bias ?? null, {
    kernelSize: [weight.shape[2], weight.shape[3]], stride: [stride[0], stride[1]], padding: [padding[0], padding[1]], dilation: [dilation[0], dilation[1]], groups,
  });
}

/**
 * Resolves `padding` (int, tuple, "valid" or "same") into symmetric padding plus the extra
 * trailing padding that "same" needs for even effective kernels (PyTorch pads the end).
 */
function resolvePadding(op: string, padding: ConvPadding, kernel: number[], stride: number[], dilation: number[]): { symmetric: number[]; extra: number[] } {
  const n = kernel.length;
  if (padding === "valid") return { symmetric: new Array<number>(n).fill(0), extra: new Array<number>(n).fill(0) };
  if (padding === "same") {
    if (stride.some((s) => s !== 1)) fail(op, `padding="same" is not supported for strided convolutions (stride ${fmtShape(stride)})`);
    const total = kernel.map((k, i) => dilation[i] * (k - 1));
    const symmetric = total.map((t) => Math.floor(t / 2));
    return { symmetric, extra: total.map((t, i) => t - 2 * symmetric[i]) };
  }
  if (typeof padding === "string") fail(op, `padding must be an int, a list of ints, "same" or "valid", got ${JSON.stringify(padding)}`);
  return { symmetric: tuple(op, "padding", padding, n, 0), extra: new Array<number>(n).fill(0) };
}

function checkWeight(op: string, weight: Tensor, spatial: number): void {
  if (weight.ndim !== spatial + 2) fail(op, `expected a ${spatial + 2}-D weight, got shape ${fmtShape(weight.shape)}`);
}

function checkSpatial(op: string, x: Tensor, kernel: number[], padding: number[], extra: number[], dilation: number[]): void {
  for (let i = 0; i < kernel.length; i++) {
    const size = x.shape[2 + i] + 2 * padding[i] + extra[i];
    const effective = dilation[i] * (kernel[i] - 1) + 1;
    if (size < effective) {
      fail(op, `input of shape ${fmtShape(x.shape)} is too small: padded size ${size} in spatial dim ${i} is less than the effective kernel size ${effective} (kernel ${fmtShape(kernel)}, padding ${fmtShape(padding)}, dilation ${fmtShape(dilation)})`);
    }
  }
}

function checkFloat(op: string, input: Tensor, weight: Tensor): void {
  if (input.dtype !== "float32" || weight.dtype !== "float32") fail(op, `expected float32 input and weight, got ${input.dtype} and ${weight.dtype} (convert with .float())`);
}

function convNd(op: string, spatial: 1 | 2, input: Tensor, weight: Tensor, options: ConvOptions): Tensor {
  checkFloat(op, input, weight);
  checkWeight(op, weight, spatial);
  const { x, unbatched } = batched(op, input, spatial);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) fail(op, `groups must be a positive integer, got ${groups}`);
  const kernel = weight.shape.slice(2);
  const stride = tuple(op, "stride", options.stride ?? 1, spatial);
  const dilation = tuple(op, "dilation", options.dilation ?? 1, spatial);
  const { symmetric, extra } = resolvePadding(op, options.padding ?? 0, kernel, stride, dilation);
  const inChannels = weight.shape[1] * groups;
  if (x.shape[1] !== inChannels) {
    const dims = spatial === 1 ? "L" : "H, W";
    fail(op, `expected input with ${inChannels} channels (shape [N, ${inChannels}, ${dims}]) for weight of shape ${fmtShape(weight.shape)} and groups=${groups}, got ${fmtShape(input.shape)}`);
  }
  checkSpatial(op, x, kernel, symmetric, extra, dilation);
  let out: Tensor;
  if (spatial === 1) {
    // A 1-D convolution is a 2-D one over a height-1 image.
    out = conv2dCore(op, x.unsqueeze(2), weight.unsqueeze(2), options.bias, [1, stride[0]], [0, symmetric[0]], [0, extra[0]], [1, dilation[0]], groups).squeeze(2);
  } else {
    out = conv2dCore(op, x, weight, options.bias, stride, symmetric, extra, dilation, groups);
  }
  return unbatched ? out.squeeze(0) : out;
}

/** torch.nn.functional.conv1d: input [N, C, L] (or [C, L]), weight [O, C/groups, k]. */
export function conv1d(input: Tensor, weight: Tensor, biasOrOptions?: Tensor | null | ConvOptions, options?: ConvOptions): Tensor {
  return convNd("conv1d", 1, input, weight, splitBias(biasOrOptions, options));
}

/** torch.nn.functional.conv2d: input [N, C, H, W] (or [C, H, W]), weight [O, C/groups, kH, kW]. */
export function conv2d(input: Tensor, weight: Tensor, biasOrOptions?: Tensor | null | ConvOptions, options?: ConvOptions): Tensor {
  return convNd("conv2d", 2, input, weight, splitBias(biasOrOptions, options));
}

/**
 * The transposed 2-D core, the adjoint of conv2d: x [N, Cin, H, W], weight [Cin, Cout/groups, kH, kW].
 * Each input pixel scatters weight * value into a window: columns = weight^T @ x, then col2im.
 */
function convTranspose2dCore(op: string, x: Tensor, weight: Tensor, bias: Tensor | null | undefined, stride: number[], padding: number[], outputPadding: number[], dilation: number[], groups: number): Tensor {
  const [inChannels, outPerGroup, kh, kw] = weight.shape;
  const [batch, channels, inH, inW] = x.shape;
  if (channels !== inChannels) fail(op, `expected input with ${inChannels} channels (shape [N, ${inChannels}, H, W]) for weight of shape ${fmtShape(weight.shape)}, got ${fmtShape(x.shape)}`);
  if (inChannels % groups !== 0) fail(op, `in channels (${inChannels}) must be divisible by groups (${groups})`);
  const outChannels = outPerGroup * groups;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outChannels)) fail(op, `expected bias of shape [${outChannels}], got ${fmtShape(bias.shape)}`);
  for (let i = 0; i < 2; i++) {
    if (outputPadding[i] >= stride[i] && outputPadding[i] >= dilation[i]) {
      fail(op, `output padding must be smaller than either stride or dilation, got outputPadding ${fmtShape(outputPadding)}, stride ${fmtShape(stride)}, dilation ${fmtShape(dilation)}`);
    }
  }
  const kernel = [kh, kw];
  const outSize = [inH, inW].map((n, i) => (n - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + outputPadding[i] + 1);
  if (outSize[0] <= 0 || outSize[1] <= 0) fail(op, `input of shape ${fmtShape(x.shape)} gives an empty output of size ${fmtShape(outSize)} (padding ${fmtShape(padding)})`);
  const inPerGroup = inChannels / groups;
  const rows = outPerGroup * kh * kw;
  // [groups, Cin/g, Cout/g*kk] -> transpose -> [groups, Cout/g*kk, Cin/g] @ x [N, groups, Cin/g, H*W].
  const groupedWeight = weight.reshape([groups, inPerGroup, rows]).transpose(1, 2);
  const cols = groupedWeight.matmul(x.reshape([batch, groups, inPerGroup, inH * inW])).reshape([batch, groups * rows, inH * inW]);
  const geometry = { kernelSize: [kh, kw] as [number, number], stride: [stride[0], stride[1]] as [number, number], dilation: [dilation[0], dilation[1]] as [number, number] };
  let out: Tensor;
  if (outputPadding.every((p, i) => p < stride[i])) {
    out = col2im(cols, [outSize[0], outSize[1]], { ...geometry, padding: [padding[0], padding[1]] });
  } else {
    // outputPadding >= stride (allowed when below the dilation) adds rows no window reaches
    // through fold's padding: fold the full, unpadded output, crop `padding`, zero-fill the rest.
    const full = [inH, inW].map((n, i) => (n - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1);
    out = col2im(cols, [full[0], full[1]], { ...geometry, padding: [0, 0] });
    for (let i = 0; i < 2; i++) {
      const kept = Math.min(outSize[i], full[i] - padding[i]);
      out = padEnd(out.narrow(2 + i, padding[i], kept), 2 + i, outSize[i] - kept);
    }
  }
  return bias ? out.add(bias.reshape([1, outChannels, 1, 1])) : out;
}

function convTransposeNd(op: string, spatial: 1 | 2, input: Tensor, weight: Tensor, options: ConvTransposeOptions): Tensor {
  checkFloat(op, input, weight);
  checkWeight(op, weight, spatial);
  const { x, unbatched } = batched(op, input, spatial);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) fail(op, `groups must be a positive integer, got ${groups}`);
  const stride = tuple(op, "stride", options.stride ?? 1, spatial);
  const padding = tuple(op, "padding", options.padding ?? 0, spatial, 0);
  const outputPadding = tuple(op, "outputPadding", options.outputPadding ?? 0, spatial, 0);
  const dilation = tuple(op, "dilation", options.dilation ?? 1, spatial);
  let out: Tensor;
  if (spatial === 1) {
    out = convTranspose2dCore(op, x.unsqueeze(2), weight.unsqueeze(2), options.bias, [1, stride[0]], [0, padding[0]], [0, outputPadding[0]], [1, dilation[0]], groups).squeeze(2);
  } else {
    out = convTranspose2dCore(op, x, weight, options.bias, stride, padding, outputPadding, dilation, groups);
  }
  return unbatched ? out.squeeze(0) : out;
}

/** torch.nn.functional.conv_transpose1d: input [N, Cin, L], weight [Cin, Cout/groups, k]. */
export function convTranspose1d(input: Tensor, weight: Tensor, biasOrOptions?: Tensor | null | ConvTransposeOptions, options?: ConvTransposeOptions): Tensor {
  return convTransposeNd("convTranspose1d", 1, input, weight, splitBias(biasOrOptions, options));
}

/** torch.nn.functional.conv_transpose2d: input [N, Cin, H, W], weight [Cin, Cout/groups, kH, kW]. */
export function convTranspose2d(input: Tensor, weight: Tensor, biasOrOptions?: Tensor | null | ConvTransposeOptions, options?: ConvTransposeOptions): Tensor {
  return convTransposeNd("convTranspose2d", 2, input, weight, splitBias(biasOrOptions, options));
}

export interface UnfoldOptions {
  dilation?: number | number[];
  padding?: number | number[];
  stride?: number | number[];
}

/** torch.nn.functional.unfold (im2col): [N, C, H, W] -> [N, C*kH*kW, L] sliding blocks. */
export function unfold(input: Tensor, kernelSize: number | number[], options: UnfoldOptions = {}): Tensor {
  const op = "unfold";
  if (input.ndim !== 3 && input.ndim !== 4) fail(op, `expected a 3-D (unbatched) or 4-D (batched) input, got shape ${fmtShape(input.shape)}`);
  const x = input.ndim === 3 ? input.unsqueeze(0) : input;
  const out = im2col(x, windowOptions(op, kernelSize, options));
  return input.ndim === 3 ? out.squeeze(0) : out;
}

/** torch.nn.functional.fold (col2im): [N, C*kH*kW, L] -> [N, C, outputSize], overlapping values summed. */
export function fold(input: Tensor, outputSize: number | number[], kernelSize: number | number[], options: UnfoldOptions = {}): Tensor {
  const op = "fold";
  if (input.ndim !== 2 && input.ndim !== 3) fail(op, `expected a 2-D (unbatched) or 3-D (batched) input, got shape ${fmtShape(input.shape)}`);
  const x = input.ndim === 2 ? input.unsqueeze(0) : input;
  const size = tuple(op, "outputSize", outputSize, 2);
  const out = col2im(x, [size[0], size[1]], windowOptions(op, kernelSize, options));
  return input.ndim === 2 ? out.squeeze(0) : out;
}

function windowOptions(op: string, kernelSize: number | number[], options: UnfoldOptions) {
  const pairOf = (name: string, v: number | number[], min: number) => tuple(op, name, v, 2, min) as [number, number];
  return {
    kernelSize: pairOf("kernelSize", kernelSize, 1), dilation: pairOf("dilation", options.dilation ?? 1, 1),
    padding: pairOf("padding", options.padding ?? 0, 0), stride: pairOf("stride", options.stride ?? 1, 1),
  };
}
