/**
 * Activation functions (the functional twins of nn.ReLU, nn.GELU, ...). Most are written with
 * tensor ops, so autograd differentiates them with no gradient code here (GELU is one fused op
 * with its own gradient, in ops/elementwise.ts). Where a branch that is not selected could
 * overflow (exp of a large input), its input is clamped first: `where` sends a zero gradient to
 * the unselected branch, and 0 * inf would otherwise be NaN.
 */
import { noGrad } from "../../autograd/grad-mode.js";
import { fail, fmtShape } from "../../core/errors.js";
import { normalizeDim } from "../../core/shape.js";
import { gelu as fusedGelu, where } from "../../ops/elementwise.js";
import { record } from "../../ops/util.js";
import type { Tensor } from "../../tensor/tensor.js";

function checkFloat(op: string, x: Tensor): void {
  if (x.dtype !== "float32") fail(op, `expected a float32 input, got ${x.dtype}`);
}

export function relu(x: Tensor): Tensor {
  return x.relu();
}

/** max(0, x) + negativeSlope * min(0, x); default slope 0.01. */
export function leakyRelu(x: Tensor, options: { negativeSlope?: number } = {}): Tensor {
  checkFloat("leakyRelu", x);
  const slope = options.negativeSlope ?? 0.01;
  return where(x.gt(0), x, x.mul(slope));
}

/**
 * PReLU: like leakyRelu with a learned slope. `weight` has 1 element (shared) or one per channel,
 * channels being dim 1 of the input; inputs with fewer than 2 dims have 1 channel, as in PyTorch.
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  checkFloat("prelu", x);
  if (weight.ndim > 1) fail("prelu", `weight must be 0-D or 1-D, got shape ${fmtShape(weight.shape)}`);
  const channels = x.ndim >= 2 ? x.shape[1] : 1;
  if (weight.numel() !== 1 && weight.numel() !== channels) {
    fail("prelu", `mismatch of parameter numbers and input channel size: found ${weight.numel()} parameters and ${channels} channels (input shape ${fmtShape(x.shape)})`);
  }
  // One slope per channel, broadcast over the dims after it.
  const slope = weight.numel() === 1 ? weight.reshape([]) : weight.reshape([channels, ...new Array<number>(x.ndim - 2).fill(1)]);
  return where(x.gt(0), x, x.mul(slope));
}

/** x for x > 0, alpha * (exp(x) - 1) otherwise; default alpha 1. */
export function elu(x: Tensor, options: { alpha?: number } = {}): Tensor {
  checkFloat("elu", x);
  const alpha = options.alpha ?? 1;
  return where(x.gt(0), x, x.clamp(null, 0).expm1().mul(alpha));
}

/** x * Phi(x) with the exact normal CDF, or its tanh approximation (`approximate: "tanh"`). */
export function gelu(x: Tensor, options: { approximate?: "none" | "tanh" } = {}): Tensor {
  checkFloat("gelu", x);
  const approximate = options.approximate ?? "none";
  if (approximate === "none" || approximate === "tanh") return fusedGelu(x, approximate);
  return fail("gelu", `approximate must be "none" or "tanh", got ${JSON.stringify(approximate)}`);
}

/** x * sigmoid(x) (also called swish). */
export function silu(x: Tensor): Tensor {
  checkFloat("silu", x);
  return x.mul(x.sigmoid());
}

/** log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (defaults 1 and 20). */
export function softplus(x: Tensor, options: { beta?: number; threshold?: number } = {}): Tensor {
  checkFloat("softplus", x);
  const beta = options.beta ?? 1;
  const threshold = options.threshold ?? 20;
  const scaled = x.mul(beta);
  const smooth = scaled.clamp(null, threshold).exp().log1p().div(beta);
  return where(scaled.gt(threshold), x, smooth);
}

/** x - lambd for x > lambd, x + lambd for x < -lambd, else 0; default lambd 0.5. */
export function softshrink(x: Tensor, options: { lambd?: number } = {}): Tensor {
  checkFloat("softshrink", x);
  const lambd = options.lambd ?? 0.5;
  if (lambd < 0) fail("softshrink", `lambda must be greater or equal to 0, but found to be ${lambd}`);
  return where(x.gt(lambd), x.sub(lambd), where(x.lt(-lambd), x.add(lambd), 0));
}

/** Clamps to [minVal, maxVal] (defaults -1, 1); the gradient is zero at and beyond the limits, as in PyTorch. */
export function hardtanh(x: Tensor, options: { minVal?: number; maxVal?: number } = {}): Tensor {
  checkFloat("hardtanh", x);
  const minVal = options.minVal ?? -1;
  const maxVal = options.maxVal ?? 1;
  if (minVal > maxVal) fail("hardtanh", `minVal (${minVal}) cannot be greater than maxVal (${maxVal})`);
  return where(x.le(minVal), minVal, where(x.ge(maxVal), maxVal, x));
}

export function tanh(x: Tensor): Tensor {
  return x.tanh();
}

export function sigmoid(x: Tensor): Tensor {
  return x.sigmoid();
}

/**
 * PyTorch's implicit dim for softmax called without one (deprecated there): 0 for 0-, 1- and 3-D
 * inputs, else 1.
 */
function softmaxDim(op: string, x: Tensor, dim: number | undefined): number {
  if (dim !== undefined) return normalizeDim(op, dim, x.ndim);
  return x.ndim === 0 || x.ndim === 1 || x.ndim === 3 ? 0 : 1;
}

// softmax and logSoftmax are one node on the tape each, with the closed-form gradient (four
// kernels) instead of the eight or so that differentiating the composed forward would run.

/** exp(x) / sum(exp(x)) along `dim`, computed stably by subtracting the max first (softmax is invariant to it). */
export function softmax(x: Tensor, dim?: number): Tensor {
  checkFloat("softmax", x);
  const d = softmaxDim("softmax", x, dim);
  const out = noGrad(() => {
    const e = x.sub(x.amax(d, { keepdim: true })).exp();
    return e.div(e.sum(d, { keepdim: true }));
  });
  // d/dx: out * (g - sum(g * out)).
  return record("softmax", out, [x], (g) => {
    const gOut = g.mul(out);
    return [gOut.sub(out.mul(gOut.sum(d, { keepdim: true })))];
  });
}

/** log(softmax(x)) along `dim`, computed stably as (x - max) - log(sum(exp(x - max))). */
export function logSoftmax(x: Tensor, dim?: number): Tensor {
  checkFloat("logSoftmax", x);
  const d = softmaxDim("logSoftmax", x, dim);
  const out = noGrad(() => {
    const shifted = x.sub(x.amax(d, { keepdim: true }));
    return shifted.sub(shifted.exp().sum(d, { keepdim: true }).log());
  });
  // d/dx: g - softmax * sum(g), softmax being exp(out).
  return record("logSoftmax", out, [x], (g) => [g.sub(out.exp().mul(g.sum(d, { keepdim: true })))]);
}
