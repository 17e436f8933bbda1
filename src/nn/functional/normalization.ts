// Normalization layers' functional twins: batch, layer, group, instance and local response
// normalization, plus the lectures' local contrast normalization. All are compositions of
// tensor ops (their gradients come from the tape) except layer normalization, one node on the
// backend's fused kernels; running statistics are updated in place without recording.
import { noGrad } from "../../autograd/grad-mode.js";
import type { LayerNormProblem } from "../../backend/backend.js";
import { backend } from "../../backend/registry.js";
import { fail, fmtShape } from "../../core/errors.js";
import { Layout } from "../../core/layout.js";
import { cat } from "../../ops/shape.js";
import { record } from "../../ops/util.js";
import { zeros } from "../../tensor/creation.js";
import { Tensor } from "../../tensor/tensor.js";

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalize with the batch's statistics (and update the running ones); default false. */
  training?: boolean;
  /** Weight of the new batch statistic in the running average; default 0.1. */
  momentum?: number;
  eps?: number;
}

/** Dims that batch statistics average over: all but the channel dim (1). */
function nonChannelDims(x: Tensor): number[] {
  return x.shape.map((_, i) => i).filter((i) => i !== 1);
}

/** Reshapes a per-channel vector [C] to broadcast over [N, C, ...]. */
function perChannel(v: Tensor, ndim: number): Tensor {
  return v.reshape([1, v.shape[0], ...new Array<number>(ndim - 2).fill(1)]);
}

function checkChannelVector(op: string, name: string, v: Tensor | null | undefined, channels: number): void {
  if (v && (v.ndim !== 1 || v.shape[0] !== channels)) fail(op, `expected ${name} of shape [${channels}], got ${fmtShape(v.shape)}`);
}

/** (x - mean) / sqrt(var + eps), then the optional per-channel affine map. */
function normalizeAffine(x: Tensor, mean: Tensor, variance: Tensor, eps: number, weight: Tensor | null | undefined, bias: Tensor | null | undefined): Tensor {
  let out = x.sub(mean).mul(variance.add(eps).rsqrt());
  if (weight) out = out.mul(perChannel(weight, x.ndim));
  if (bias) out = out.add(perChannel(bias, x.ndim));
  return out;
}

/**
 * torch.nn.functional.batch_norm over [N, C, ...]. In training mode it normalizes with the
 * batch's mean and biased variance and, when running buffers are given, blends them in place:
 * running = (1 - momentum) * running + momentum * batch statistic (unbiased variance, as PyTorch).
 */
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options: BatchNormOptions = {}): Tensor {
  const op = "batchNorm";
  if (input.ndim < 2) fail(op, `expected an input of at least 2 dims [N, C, ...], got shape ${fmtShape(input.shape)}`);
  const channels = input.shape[1];
  checkChannelVector(op, "runningMean", runningMean, channels);
  checkChannelVector(op, "runningVar", runningVar, channels);
  checkChannelVector(op, "weight", options.weight, channels);
  checkChannelVector(op, "bias", options.bias, channels);
  const eps = options.eps ?? 1e-5;
  if (!options.training) {
    if (!runningMean || !runningVar) fail(op, "running_mean and running_var must be given when training is false");
    return normalizeAffine(input, perChannel(runningMean, input.ndim), perChannel(runningVar, input.ndim), eps, options.weight, options.bias);
  }
  const dims = nonChannelDims(input);
  const count = input.numel() / channels;
  if (count <= 1) fail(op, `expected more than 1 value per channel when training, got input of shape ${fmtShape(input.shape)}`);
  const mean = input.mean(dims, { keepdim: true });
  const variance = input.sub(mean).square().mean(dims, { keepdim: true });
  const momentum = options.momentum ?? 0.1;
  noGrad(() => {
    if (runningMean) runningMean.mul_(1 - momentum).add_(mean.reshape([channels]).mul(momentum));
    if (runningVar) runningVar.mul_(1 - momentum).add_(variance.reshape([channels]).mul((momentum * count) / (count - 1)));
  });
  return normalizeAffine(input, mean, variance, eps, options.weight, options.bias);
}

export interface InstanceNormOptions {
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalize with each instance's own statistics (default true); false uses the running ones. */
  useInputStats?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * torch.nn.functional.instance_norm over [N, C, ...]: each (sample, channel) slice is normalized
 * by its own mean and biased variance. Running buffers, when given, track the average over the
 * batch of the per-instance statistics.
 */
export function instanceNorm(input: Tensor, options: InstanceNormOptions = {}): Tensor {
  const op = "instanceNorm";
  if (input.ndim < 3) fail(op, `expected an input of at least 3 dims [N, C, ...], got shape ${fmtShape(input.shape)}`);
  const [batch, channels] = input.shape;
  checkChannelVector(op, "weight", options.weight, channels);
  checkChannelVector(op, "bias", options.bias, channels);
  checkChannelVector(op, "runningMean", options.runningMean, channels);
  checkChannelVector(op, "runningVar", options.runningVar, channels);
  const eps = options.eps ?? 1e-5;
  if (options.useInputStats === false) {
    if (!options.runningMean || !options.runningVar) fail(op, "runningMean and runningVar must be given when useInputStats is false");
    return normalizeAffine(input, perChannel(options.runningMean, input.ndim), perChannel(options.runningVar, input.ndim), eps, options.weight, options.bias);
  }
  const dims = input.shape.map((_, i) => i).slice(2);
  const count = input.numel() / (batch * channels);
  if (count <= 1) fail(op, `expected more than 1 spatial element when training, got input of shape ${fmtShape(input.shape)}`);
  const mean = input.mean(dims, { keepdim: true });
  const variance = input.sub(mean).square().mean(dims, { keepdim: true });
  const momentum = options.momentum ?? 0.1;
  noGrad(() => {
    const { runningMean, runningVar } = options;
    if (runningMean) runningMean.mul_(1 - momentum).add_(mean.reshape([batch, channels]).mean(0).mul(momentum));
    if (runningVar) runningVar.mul_(1 - momentum).add_(variance.reshape([batch, channels]).mean(0).mul((momentum * count) / (count - 1)));
  });
  return normalizeAffine(input, mean, variance, eps, options.weight, options.bias);
}

export interface LayerNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  eps?: number;
}

/** torch.nn.functional.layer_norm: normalizes over the trailing `normalizedShape` dims. */
export function layerNorm(input: Tensor, normalizedShape: number | number[], options: LayerNormOptions = {}): Tensor {
  const op = "layerNorm";
  const shape = typeof normalizedShape === "number" ? [normalizedShape] : normalizedShape.slice();
  const trailing = input.shape.slice(input.ndim - shape.length);
  if (shape.length === 0 || shape.length > input.ndim || trailing.some((d, i) => d !== shape[i])) {
    fail(op, `input of shape ${fmtShape(input.shape)} does not end with normalizedShape ${fmtShape(shape)}`);
  }
  for (const [name, v] of [["weight", options.weight], ["bias", options.bias]] as const) {
    if (v && (v.ndim !== shape.length || v.shape.some((d, i) => d !== shape[i]))) fail(op, `expected ${name} of shape ${fmtShape(shape)}, got ${fmtShape(v.shape)}`);
  }
  const { weight, bias } = options;
  const eps = options.eps ?? 1e-5;
  const inputs = [input, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  for (const t of inputs) if (t.dtype !== "float32") fail(op, `expected float32 input, weight and bias, got ${t.dtype} (shape ${fmtShape(t.shape)})`);
  // One node on the tape, on the backend's fused kernels: rows of the normalized size, with the
  // closed-form gradient instead of differentiating the ten or so ops of the forward pass.
  const size = shape.reduce((a, b) => a * b, 1);
  const problem: LayerNormProblem = {
    x: denseFloats(input),
    rows: size === 0 ? 0 : input.numel() / size,
    size,
    eps,
    weight: weight ? denseFloats(weight) : null,
    bias: bias ? denseFloats(bias) : null,
  };
  const { output, stats } = backend().layerNorm(problem);
  return record(op, new Tensor(output, Layout.contiguous(input.shape), "float32"), inputs, (g) => {
    const want = { input: input.requiresGrad, weight: weight?.requiresGrad ?? false, bias: bias?.requiresGrad ?? false };
    const grads = backend().layerNormBackward(problem, stats, denseFloats(g), want);
    const asTensor = (values: Float32Array | null, like: Tensor) => (values === null ? null : new Tensor(values, Layout.contiguous(like.shape), "float32"));
    return [asTensor(grads.input, input), ...(weight ? [asTensor(grads.weight, weight)] : []), ...(bias ? [asTensor(grads.bias, bias)] : [])];
  });
}

/** A float32 tensor's values in row-major order (its own storage when it is already dense). */
function denseFloats(t: Tensor): Float32Array {
  const dense = t.layout.isContiguous() ? t : t.contiguous();
  const { offset, size } = dense.layout;
  const storage = dense.storage as Float32Array;
  return offset === 0 && storage.length === size ? storage : storage.subarray(offset, offset + size);
}

export interface GroupNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  eps?: number;
}

/** torch.nn.functional.group_norm: channels are split into `numGroups` groups, each normalized per sample. */
export function groupNorm(input: Tensor, numGroups: number, options: GroupNormOptions = {}): Tensor {
  const op = "groupNorm";
  if (input.ndim < 2) fail(op, `expected an input of at least 2 dims [N, C, ...], got shape ${fmtShape(input.shape)}`);
  const [batch, channels] = input.shape;
  if (!Number.isInteger(numGroups) || numGroups < 1 || channels % numGroups !== 0) {
    fail(op, `expected the number of channels (${channels}, input shape ${fmtShape(input.shape)}) to be divisible by numGroups (${numGroups})`);
  }
  checkChannelVector(op, "weight", options.weight, channels);
  checkChannelVector(op, "bias", options.bias, channels);
  const grouped = input.reshape([batch, numGroups, -1]);
  const mean = grouped.mean(2, { keepdim: true });
  const variance = grouped.sub(mean).square().mean(2, { keepdim: true });
  const normalized = grouped.sub(mean).mul(variance.add(options.eps ?? 1e-5).rsqrt()).reshape(input.shape.slice());
  let out = normalized;
  if (options.weight) out = out.mul(perChannel(options.weight, input.ndim));
  if (options.bias) out = out.add(perChannel(options.bias, input.ndim));
  return out;
}

export interface LocalResponseNormOptions {
  alpha?: number;
  beta?: number;
  k?: number;
}

/**
 * Sum over a window of `size` neighbouring channels, zero-padded as PyTorch does:
 * size/2 channels before (rounded down) and (size-1)/2 after.
 */
function channelWindowSum(x: Tensor, size: number): Tensor {
  const channels = x.shape[1];
  const before = Math.floor(size / 2);
  const after = Math.floor((size - 1) / 2);
  const padShape = (n: number) => [x.shape[0], n, ...x.shape.slice(2)];
  const parts = [...(before > 0 ? [zeros(padShape(before))] : []), x, ...(after > 0 ? [zeros(padShape(after))] : [])];
  const padded = parts.length > 1 ? cat(parts, 1) : x;
  let sum = padded.narrow(1, 0, channels);
  for (let offset = 1; offset < size; offset++) sum = sum.add(padded.narrow(1, offset, channels));
  return sum;
}

/**
 * torch.nn.functional.local_response_norm: x / (k + alpha/size * sum of x^2 over `size`
 * neighbouring channels)^beta, over [N, C, ...].
 */
export function localResponseNorm(input: Tensor, size: number, options: LocalResponseNormOptions = {}): Tensor {
  const op = "localResponseNorm";
  if (input.ndim < 3) fail(op, `expected an input of at least 3 dims [N, C, ...], got shape ${fmtShape(input.shape)}`);
  if (!Number.isInteger(size) || size < 1) fail(op, `size must be a positive integer, got ${size}`);
  const alpha = options.alpha ?? 1e-4;
  const beta = options.beta ?? 0.75;
  const k = options.k ?? 1;
  const div = channelWindowSum(input.square(), size).div(size).mul(alpha).add(k).pow(beta);
  return input.div(div);
}

export interface LocalContrastNormOptions {
  eps?: number;
}

/**
 * Local contrast normalization (the lectures' "subtractive + divisive" normalization, after
 * Jarrett et al. 2009), on [N, C, H, W] with a uniform `size` x `size` window across all channels:
 *   v = x - mean_{window, channels}(x)                         (subtractive)
 *   sigma = sqrt(mean_{window, channels}(v^2))
 *   y = v / max(eps, sigma, mean over the image of sigma)      (divisive)
 * Windows are zero-padded at the borders and averaged over the whole window (size^2 * C values).
 * flint's own layer: PyTorch has no counterpart (Jarrett et al. use a Gaussian window; this is the
 * uniform-window variant).
 */
export function localContrastNorm(input: Tensor, size: number, options: LocalContrastNormOptions = {}): Tensor {
  const op = "localContrastNorm";
  if (input.ndim !== 4) fail(op, `expected a 4-D input [N, C, H, W], got shape ${fmtShape(input.shape)}`);
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) fail(op, `size must be a positive odd integer, got ${size}`);
  const eps = options.eps ?? 1e-4;
  // Mean over channels, then a separable zero-padded box filter along H and then W.
  const windowMean = (t: Tensor): Tensor => {
    const channelMean = t.mean(1, { keepdim: true });
    const boxH = channelWindowSum(channelMean.transpose(1, 2), size).transpose(1, 2);
    const boxW = channelWindowSum(boxH.transpose(1, 3), size).transpose(1, 3);
    return boxW.div(size * size);
  };
  const centered = input.sub(windowMean(input));
  const sigma = windowMean(centered.square()).sqrt();
  const imageMean = sigma.mean([2, 3], { keepdim: true });
  return centered.div(sigma.maximum(imageMean).clamp(eps));
}
