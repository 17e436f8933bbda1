import { isGradEnabled, noGrad } from "../../autograd/grad-mode.js";
import type { ClassCrossEntropy } from "../../backend/backend.js";
import { backend } from "../../backend/registry.js";
import { fail, fmtShape } from "../../core/errors.js";
import { Layout } from "../../core/layout.js";
import { broadcastShapes, sameShape } from "../../core/shape.js";
import { record } from "../../ops/util.js";
import { where } from "../../tensor/functions.js";
import { Tensor } from "../../tensor/tensor.js";
import { logSoftmax } from "./activation.js";

// The losses of torch.nn.functional. Most are written with tensor ops, so autograd derives their
// gradients. Four are single recorded ops: the two binary cross-entropies carry PyTorch's own
// backward formulas (clamped logs and the `(x - y) / max(x(1 - x), 1e-12)` rule), which a
// composition of clamped ops would not reproduce at the boundaries; nllLoss and cross entropy
// with class indices are fused loops because nearly every classifier trains with them.

export type Reduction = "mean" | "sum" | "none";

export interface ReductionOptions {
  /** "mean" (default) averages the elementwise losses, "sum" adds them, "none" returns them. */
  reduction?: Reduction;
}

function checkReduction(op: string, reduction: unknown): Reduction {
  const r = reduction ?? "mean";
  if (r !== "mean" && r !== "sum" && r !== "none") fail(op, `${JSON.stringify(reduction)} is not a valid value for reduction (expected "mean", "sum" or "none")`);
  return r;
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === "none") return loss;
  return reduction === "sum" ? loss.sum() : loss.mean();
}

function checkTensor(op: string, name: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) fail(op, `${name} must be a Tensor, got ${value === null ? "null" : typeof value}`);
  return value;
}

function checkFloatInput(op: string, input: unknown): Tensor {
  const x = checkTensor(op, "input", input);
  if (x.dtype !== "float32") fail(op, `expected a float32 input, got ${x.dtype}`);
  return x;
}

/**
 * The target of an elementwise loss, as float32. A target whose shape differs from the input's is
 * broadcast, as PyTorch does, after the same warning PyTorch gives (it is usually a bug).
 */
const warnedBroadcast = new Set<string>();
function elementwiseTarget(op: string, input: Tensor, target: unknown): Tensor {
  const t = checkTensor(op, "target", target);
  if (!sameShape(input.shape, t.shape)) {
    broadcastShapes(op, input.shape, t.shape);
    if (!warnedBroadcast.has(op)) {
      warnedBroadcast.add(op);
      console.warn(`flint ${op}: using a target size (${fmtShape(t.shape)}) that is different to the input size (${fmtShape(input.shape)}); this will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.`);
    }
  }
  return t.dtype === "float32" ? t : t.float();
}

// ---- regression ---------------------------------------------------------------------------

/** Mean squared error: (input - target)^2. */
export function mseLoss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  const reduction = checkReduction("mseLoss", options.reduction);
  const x = checkFloatInput("mseLoss", input);
  return reduce(x.sub(elementwiseTarget("mseLoss", x, target)).square(), reduction);
}

/** Mean absolute error: |input - target|. */
export function l1Loss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  const reduction = checkReduction("l1Loss", options.reduction);
  const x = checkFloatInput("l1Loss", input);
  return reduce(x.sub(elementwiseTarget("l1Loss", x, target)).abs(), reduction);
}

export interface SmoothL1LossOptions extends ReductionOptions {
  /** Where the loss switches from quadratic to linear (default 1; 0 gives l1Loss). */
  beta?: number;
}

/** 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target). */
export function smoothL1Loss(input: Tensor, target: Tensor, options: SmoothL1LossOptions = {}): Tensor {
  const reduction = checkReduction("smoothL1Loss", options.reduction);
  const beta = options.beta ?? 1;
  if (!(beta >= 0)) fail("smoothL1Loss", `beta must be non-negative, got ${beta}`);
  const x = checkFloatInput("smoothL1Loss", input);
  const diff = x.sub(elementwiseTarget("smoothL1Loss", x, target));
  const absDiff = diff.abs();
  if (beta === 0) return reduce(absDiff, reduction);
  return reduce(where(absDiff.lt(beta), diff.square().mul(0.5 / beta), absDiff.sub(0.5 * beta)), reduction);
}

export interface HuberLossOptions extends ReductionOptions {
  /** Where the loss switches from quadratic to linear (default 1). */
  delta?: number;
}

/** 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): smoothL1Loss scaled by delta. */
export function huberLoss(input: Tensor, target: Tensor, options: HuberLossOptions = {}): Tensor {
  const reduction = checkReduction("huberLoss", options.reduction);
  const delta = options.delta ?? 1;
  if (!(delta > 0)) fail("huberLoss", `delta must be positive, got ${delta}`);
  const x = checkFloatInput("huberLoss", input);
  const diff = x.sub(elementwiseTarget("huberLoss", x, target));
  const absDiff = diff.abs();
  return reduce(where(absDiff.lt(delta), diff.square().mul(0.5), absDiff.sub(0.5 * delta).mul(delta)), reduction);
}

// ---- classification -----------------------------------------------------------------------

export interface NLLLossOptions extends ReductionOptions {
  /** A rescaling weight per class, shape [C]. */
  weight?: Tensor | null;
  /** Targets equal to this take no part in the loss or the mean (default -100). */
  ignoreIndex?: number;
}

export interface CrossEntropyOptions extends NLLLossOptions {
  /** Mixes the target with the uniform distribution: (1 - s) * target + s / C (default 0). */
  labelSmoothing?: number;
}

/** The class dim of an [N, C, d1, ...] or unbatched [C] input. */
function classDimOf(op: string, input: Tensor): number {
  if (input.ndim === 0) fail(op, "input must have at least one dimension (the classes), got a 0-d tensor");
  return input.ndim === 1 ? 0 : 1;
}

/** Class and element weights are constants, as in PyTorch, which refuses to differentiate them. */
function checkConstant(op: string, name: string, w: Tensor): void {
  if (w.requiresGrad && isGradEnabled()) fail(op, `not differentiable with respect to argument '${name}'; pass ${name}.detach()`);
}

function checkWeight(op: string, weight: Tensor | null | undefined, classes: number): Tensor | null {
  if (weight === undefined || weight === null) return null;
  const w = checkTensor(op, "weight", weight);
  checkConstant(op, "weight", w);
  if (w.ndim !== 1 || w.shape[0] !== classes) fail(op, `weight must be a 1-D tensor with one entry per class (${classes}), got shape ${fmtShape(w.shape)}`);
  return w.dtype === "float32" ? w : w.float();
}

/** Checks class-index targets: int32, the input's shape without the class dim, values in range or ignored. */
function checkClassTarget(op: string, input: Tensor, target: unknown, ignoreIndex: number): Tensor {
  const t = checkTensor(op, "target", target);
  const classDim = classDimOf(op, input);
  const classes = input.shape[classDim];
  if (t.dtype !== "int32") {
    const hint = op === "crossEntropy" ? " (or float32 class probabilities of the input's shape)" : "";
    fail(op, `expected int32 class indices as target${hint}, got ${t.dtype} of shape ${fmtShape(t.shape)}`);
  }
  const expected = input.shape.filter((_, d) => d !== classDim);
  if (!sameShape(t.shape, expected)) {
    fail(op, `expected a target of shape ${fmtShape(expected)} for an input of shape ${fmtShape(input.shape)} (classes in dim ${classDim}), got ${fmtShape(t.shape)}`);
  }
  const values = t.data() as Int32Array;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== ignoreIndex && (v < 0 || v >= classes)) fail(op, `target ${v} is out of bounds for ${classes} classes (valid: 0 to ${classes - 1}, or ignoreIndex ${ignoreIndex})`);
  }
  return t;
}

/**
 * Negative log-likelihood of class-index targets given log-probabilities: input [N, C] (or
 * [N, C, d1, ...], or unbatched [C]), target [N] ([N, d1, ...], []) of int32 classes. The mean
 * is weighted: sum(w[y] * loss) / sum(w[y]) over targets that are not ignoreIndex.
 */
export function nllLoss(input: Tensor, target: Tensor, options: NLLLossOptions = {}): Tensor {
  const op = "nllLoss";
  const reduction = checkReduction(op, options.reduction);
  const x = checkFloatInput(op, input);
  const ignoreIndex = options.ignoreIndex ?? -100;
  const t = checkClassTarget(op, x, target, ignoreIndex);
  const classDim = classDimOf(op, x);
  const weight = checkWeight(op, options.weight, x.shape[classDim]);
  return nllFromChecked(x, t, weight, ignoreIndex, classDim, reduction);
}

/**
 * The NLL as one op: -w[y] input[y] per position; its gradient is -w[y] g at the target class and
 * 0 elsewhere. (Fused like crossEntropy: it is the loss of every logSoftmax classifier.)
 */
function nllFromChecked(logProbs: Tensor, target: Tensor, weight: Tensor | null, ignoreIndex: number, classDim: number, reduction: Reduction): Tensor {
  const { classes, outer, inner } = classLayout(logProbs, classDim);
  const values = contiguousValues(logProbs);
  const labels = target.data() as Int32Array;
  const classWeight = weight === null ? null : (weight.data() as Float32Array);
  const losses = new Float32Array(outer * inner);
  let totalWeight = 0;
  let totalLoss = 0;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const pos = o * inner + k;
      const label = labels[pos];
      if (label === ignoreIndex) continue;
      const w = classWeight === null ? 1 : classWeight[label];
      totalWeight += w;
      losses[pos] = -w * values[o * classes * inner + label * inner + k];
      totalLoss += losses[pos];
    }
  }
  const out = reducedLoss(losses, target, reduction, totalLoss, totalWeight);
  return record("nllLoss", out, [logProbs], (gradOutput) => {
    const upstream = gradOutput.data() as Float32Array;
    const scale = reduction === "mean" ? 1 / totalWeight : 1;
    const grad = new Float32Array(logProbs.numel());
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < inner; k++) {
        const pos = o * inner + k;
        const label = labels[pos];
        if (label === ignoreIndex) continue;
        const g = (reduction === "none" ? upstream[pos] : upstream[0]) * scale;
        grad[o * classes * inner + label * inner + k] = -g * (classWeight === null ? 1 : classWeight[label]);
      }
    }
    return [new Tensor(grad, Layout.contiguous(logProbs.shape), "float32")];
  });
}

/** An [N, C, d1, ...] (or [C]) tensor seen as outer x classes x inner, row-major. */
function classLayout(x: Tensor, classDim: number): { classes: number; outer: number; inner: number } {
  return { classes: x.shape[classDim], outer: classDim === 0 ? 1 : x.shape[0], inner: x.shape.slice(classDim + 1).reduce((a, b) => a * b, 1) };
}

/** The per-position losses, or their sum, or their weighted mean (0/0 = NaN when every target is ignored, as in PyTorch). */
function reducedLoss(losses: Float32Array, target: Tensor, reduction: Reduction, totalLoss: number, totalWeight: number): Tensor {
  if (reduction === "none") return new Tensor(losses, Layout.contiguous(target.shape), "float32");
  return new Tensor(Float32Array.of(reduction === "sum" ? totalLoss : totalLoss / totalWeight), Layout.contiguous([]), "float32");
}

/**
 * Cross entropy between logits and targets, computed stably through logSoftmax. Targets are
 * int32 class indices (shape as for nllLoss; `ignoreIndex`, class `weight` with PyTorch's
 * weighted mean, `labelSmoothing`) or float32 class probabilities of the input's shape.
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const op = "crossEntropy";
  const reduction = checkReduction(op, options.reduction);
  const x = checkFloatInput(op, input);
  const t = checkTensor(op, "target", target);
  const classDim = classDimOf(op, x);
  const classes = x.shape[classDim];
  const weight = checkWeight(op, options.weight, classes);
  const smoothing = options.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) fail(op, `labelSmoothing must be between 0.0 and 1.0, got ${smoothing}`);
  const ignoreIndex = options.ignoreIndex ?? -100;
  // The class weight shaped to broadcast along the class dim of the input.
  const weightAlongClasses = weight === null ? null : weight.reshape(x.shape.map((size, d) => (d === classDim ? size : 1)));

  if (t.dtype === "float32") {
    if (!sameShape(t.shape, x.shape)) fail(op, `class-probability targets must have the input's shape ${fmtShape(x.shape)}, got ${fmtShape(t.shape)}`);
    const logProbs = logSoftmax(x, classDim);
    const smoothed = smoothing > 0 ? t.mul(1 - smoothing).add(smoothing / classes) : t;
    let terms = logProbs.mul(smoothed);
    if (weightAlongClasses !== null) terms = terms.mul(weightAlongClasses);
    const losses = terms.sum(classDim).neg();
    if (reduction === "none") return losses;
    if (reduction === "sum") return losses.sum();
    return losses.sum().div(x.numel() / classes);
  }

  const classTarget = checkClassTarget(op, x, t, ignoreIndex);
  return fusedClassCrossEntropy(x, classTarget, weight, ignoreIndex, smoothing, classDim, reduction);
}

/**
 * Cross entropy of class-index targets as one op on the backend's kernels (src/backend/js/loss.ts
 * is the reference): per position, the log-sum-exp of the logits, then
 * -(1 - s) w[y] (x[y] - lse) - (s / C) sum_c w[c] (x[c] - lse); the mean divides by the summed
 * weights of the targets that are not ignored. The gradient is the closed form
 * g ((1 - s) w[y] (softmax - onehot(y)) + (s / C) (sum(w) softmax - w)). Fused because it is
 * the loss of almost every classifier: two passes over the logits instead of a dozen ops.
 */
function fusedClassCrossEntropy(x: Tensor, target: Tensor, weight: Tensor | null, ignoreIndex: number, smoothing: number, classDim: number, reduction: Reduction): Tensor {
  const { classes, outer, inner } = classLayout(x, classDim);
  const labels = target.data() as Int32Array;
  const classWeight = weight === null ? null : (weight.data() as Float32Array);
  const problem: ClassCrossEntropy = { logits: contiguousValues(x), labels, classWeight, outer, classes, inner, ignoreIndex, smoothing };
  const { losses, rowStats } = backend().crossEntropyForward(problem);
  let totalWeight = 0;
  let totalLoss = 0;
  for (let pos = 0; pos < labels.length; pos++) {
    const label = labels[pos];
    if (label === ignoreIndex) continue;
    totalWeight += classWeight === null ? 1 : classWeight[label];
    totalLoss += losses[pos];
  }
  const out = reducedLoss(Float32Array.from(losses), target, reduction, totalLoss, totalWeight);
  return record("crossEntropy", out, [x], (gradOutput) => {
    const upstream = gradOutput.data() as Float32Array;
    const scale = reduction === "mean" ? 1 / totalWeight : 1;
    const rowGrad = new Float64Array(labels.length);
    for (let pos = 0; pos < labels.length; pos++) {
      if (labels[pos] !== ignoreIndex) rowGrad[pos] = (reduction === "none" ? upstream[pos] : upstream[0]) * scale;
    }
    // The softmax is recomputed from the logits (x's storage, which in-place ops may not modify
    // while x requires grad) rather than kept from the forward pass: one array fewer alive.
    const grad = backend().crossEntropyBackward(problem, rowStats, rowGrad);
    return [new Tensor(grad, Layout.contiguous(x.shape), "float32")];
  });
}

/** A tensor's elements in row-major order: its own storage window when contiguous, else a copy. */
function contiguousValues(t: Tensor): Float32Array {
  if (!t.isContiguous()) return t.data() as Float32Array;
  const offset = t.layout.offset;
  return (t.storage as Float32Array).subarray(offset, offset + t.numel());
}

// ---- binary cross entropy -----------------------------------------------------------------

export interface BCEOptions extends ReductionOptions {
  /** A rescaling weight broadcast against the input (e.g. one per element of the batch). */
  weight?: Tensor | null;
}

export interface BCEWithLogitsOptions extends BCEOptions {
  /** The weight of positive examples, broadcast along the classes (last dim), shape [C]. */
  posWeight?: Tensor | null;
}

function binaryTarget(op: string, input: Tensor, target: unknown): Tensor {
  const t = checkTensor(op, "target", target);
  if (!sameShape(t.shape, input.shape)) fail(op, `using a target size (${fmtShape(t.shape)}) that is different to the input size (${fmtShape(input.shape)}) is not supported; please ensure they have the same size`);
  return t.dtype === "float32" ? t : t.float();
}

function broadcastWeight(op: string, name: string, weight: Tensor | null | undefined, input: Tensor): Tensor | null {
  if (weight === undefined || weight === null) return null;
  const w = checkTensor(op, name, weight);
  checkConstant(op, name, w);
  const shape = broadcastShapes(op, w.shape, input.shape);
  if (!sameShape(shape, input.shape)) fail(op, `${name} of shape ${fmtShape(w.shape)} does not broadcast to the input's shape ${fmtShape(input.shape)}`);
  return w.dtype === "float32" ? w : w.float();
}

/**
 * Binary cross entropy of probabilities: -w (y log x + (1 - y) log(1 - x)), each log clamped at
 * -100 as in PyTorch so that x = 0 or 1 gives a finite loss.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: BCEOptions = {}): Tensor {
  const op = "binaryCrossEntropy";
  const reduction = checkReduction(op, options.reduction);
  const x = checkFloatInput(op, input);
  const y = binaryTarget(op, x, target);
  const weight = broadcastWeight(op, "weight", options.weight, x);
  const values = x.data() as Float32Array;
  for (let i = 0; i < values.length; i++) {
    if (!(values[i] >= 0 && values[i] <= 1)) fail(op, `all elements of input should be between 0 and 1, got ${values[i]} at flat index ${i}`);
  }
  const [logX, log1mX, losses] = noGrad(() => {
    const logX = x.log().clamp(-100);
    const log1mX = x.neg().add(1).log().clamp(-100);
    let l = y.mul(logX).add(y.neg().add(1).mul(log1mX)).neg();
    if (weight !== null) l = l.mul(weight);
    return [logX, log1mX, l];
  });
  const out = record("binaryCrossEntropy", losses, [x, y], (g) => {
    const gw = weight === null ? g : g.mul(weight);
    return [
      x.requiresGrad ? gw.mul(x.sub(y)).div(x.mul(x.neg().add(1)).clamp(1e-12)) : null,
      y.requiresGrad ? gw.mul(log1mX.sub(logX)) : null,
    ];
  });
  return reduce(out, reduction);
}

/**
 * Binary cross entropy of logits, sigmoid fused in for stability:
 * (1 - y) x + (1 + (posWeight - 1) y) softplus(-x), times the weight.
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: BCEWithLogitsOptions = {}): Tensor {
  const op = "binaryCrossEntropyWithLogits";
  const reduction = checkReduction(op, options.reduction);
  const x = checkFloatInput(op, input);
  const y = binaryTarget(op, x, target);
  const weight = broadcastWeight(op, "weight", options.weight, x);
  const posWeight = broadcastWeight(op, "posWeight", options.posWeight, x);
  const [softplusNegX, losses] = noGrad(() => {
    // softplus(-x) = log(1 + exp(-|x|)) + max(-x, 0), exact for large |x|.
    const softplusNegX = x.abs().neg().exp().log1p().add(x.neg().relu());
    const logWeight = posWeight === null ? null : posWeight.sub(1).mul(y).add(1);
    let l = y.neg().add(1).mul(x).add(logWeight === null ? softplusNegX : logWeight.mul(softplusNegX));
    if (weight !== null) l = l.mul(weight);
    return [softplusNegX, l];
  });
  const out = record("binaryCrossEntropyWithLogits", losses, [x, y], (g) => {
    const gw = weight === null ? g : g.mul(weight);
    const sig = x.sigmoid();
    let gradX: Tensor | null = null;
    if (x.requiresGrad) {
      if (posWeight === null) gradX = gw.mul(sig.sub(y));
      else {
        const py = posWeight.mul(y);
        gradX = gw.mul(py.add(1).sub(y).mul(sig).sub(py));
      }
    }
    // d/dy: -x + (posWeight - 1) softplus(-x).
    const gradY = y.requiresGrad ? gw.mul((posWeight === null ? x.neg() : posWeight.sub(1).mul(softplusNegX).sub(x))) : null;
    return [gradX, gradY];
  });
  return reduce(out, reduction);
}

// ---- distributions ------------------------------------------------------------------------

export interface KLDivOptions {
  /** "mean" (default, PyTorch's: the mean over all elements), "batchmean" (sum / batch size, the true KL divergence), "sum" or "none". */
  reduction?: Reduction | "batchmean";
  /** The target is given as log-probabilities (default false). */
  logTarget?: boolean;
}

/**
 * Kullback-Leibler divergence with `input` as log-probabilities: target (log target - input),
 * taken as 0 where the target is 0 (PyTorch's xlogy), or exp(t) (t - input) with `logTarget`.
 */
export function kldiv(input: Tensor, target: Tensor, options: KLDivOptions = {}): Tensor {
  const op = "kldiv";
  const reduction = options.reduction ?? "mean";
  if (reduction !== "batchmean") checkReduction(op, reduction);
  const x = checkFloatInput(op, input);
  const t = elementwiseTarget(op, x, target);
  let pointwise: Tensor;
  if (options.logTarget) {
    pointwise = t.exp().mul(t.sub(x));
  } else {
    const isZero = t.eq(0);
    // xlogy(t, t): the log of a substituted 1 keeps both the value and the gradient finite at t = 0.
    const tLogT = where(isZero, 0, t.mul(where(isZero, 1, t).log()));
    pointwise = tLogT.sub(t.mul(x));
  }
  if (reduction === "batchmean") {
    const batch = x.ndim === 0 ? 1 : x.shape[0];
    return pointwise.sum().div(batch);
  }
  return reduce(pointwise, reduction);
}

/** PyTorch's spelling `kl_div` in camelCase; the same function as `kldiv`. */
export const klDiv = kldiv;
