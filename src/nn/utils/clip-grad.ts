import { fail } from "../../core/errors.js";
import { Layout } from "../../core/layout.js";
import { Tensor } from "../../tensor/tensor.js";
import { readElements, updateElements } from "../../optim/elements.js";

/** What the gradient utilities take: one tensor or any iterable of them (e.g. `model.parameters()`). */
export type TensorOrTensors = Tensor | Iterable<Tensor>;

export interface ClipGradNormOptions {
  /** The p of the p-norm (default 2); Infinity for the max norm. */
  normType?: number;
  /** Throw when the total norm is NaN or infinite instead of scaling by it (default false). */
  errorIfNonfinite?: boolean;
}

function gradsOf(op: string, parameters: TensorOrTensors): Tensor[] {
  const list = parameters instanceof Tensor ? [parameters] : [...parameters];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) fail(op, `expected Tensors, but parameter ${i} is ${p === null ? "null" : typeof p}`);
  });
  // peekGrad: the gradients are scaled in place and not kept, so parameters keep their gradient buffers.
  return list.map((p) => p.peekGrad()).filter((g): g is Tensor => g !== null);
}

/** The p-norm of a vector of numbers, as torch.linalg.vector_norm defines it (p = 0 counts non-zeros). */
function vectorNorm(values: ArrayLike<number>, p: number): number {
  if (p === Infinity || p === -Infinity) {
    let best = p === Infinity ? 0 : Infinity;
    for (let i = 0; i < values.length; i++) {
      const a = Math.abs(values[i]);
      if (a !== a) return NaN;
      best = p === Infinity ? Math.max(best, a) : Math.min(best, a);
    }
    return values.length === 0 && p === -Infinity ? Infinity : best;
  }
  let sum = 0;
  if (p === 0) {
    for (let i = 0; i < values.length; i++) sum += values[i] !== 0 ? 1 : 0;
    return sum;
  }
  if (p === 2) {
    for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
    return Math.sqrt(sum);
  }
  if (p === 1) {
    for (let i = 0; i < values.length; i++) sum += Math.abs(values[i]);
    return sum;
  }
  for (let i = 0; i < values.length; i++) sum += Math.abs(values[i]) ** p;
  return sum ** (1 / p);
}

/**
 * Rescales the gradients in place so that their combined p-norm is at most `maxNorm` (PyTorch's
 * `clip_grad_norm_`), treating all gradients as one vector. Returns the total norm before
 * clipping as a 0-d tensor. The scale is `maxNorm / (total + 1e-6)`, capped at 1.
 */
export function clipGradNorm(parameters: TensorOrTensors, maxNorm: number, options: ClipGradNormOptions = {}): Tensor {
  const op = "clipGradNorm";
  const normType = options.normType ?? 2;
  if (typeof maxNorm !== "number" || Number.isNaN(maxNorm)) fail(op, `maxNorm must be a number, got ${maxNorm}`);
  if (typeof normType !== "number" || Number.isNaN(normType)) fail(op, `normType must be a number, got ${normType}`);
  const grads = gradsOf(op, parameters);
  const scalar = (value: number) => new Tensor(Float32Array.of(value), Layout.contiguous([]), "float32");
  if (grads.length === 0) return scalar(0);
  // Each gradient's norm is a float32 result, then the norm of those norms (PyTorch's two stages).
  const perGradient = Float32Array.from(grads, (g) => vectorNorm(readElements(g), normType));
  const total = Math.fround(vectorNorm(perGradient, normType));
  if (options.errorIfNonfinite && !Number.isFinite(total)) {
    fail(op, `the total norm of order ${normType} for gradients from \`parameters\` is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set \`errorIfNonfinite: false\``);
  }
  const coefficient = Math.min(Math.fround(maxNorm / Math.fround(total + 1e-6)), 1);
  if (coefficient !== 1) {
    for (const g of grads) {
      updateElements(g, (values) => {
        for (let i = 0; i < values.length; i++) values[i] *= coefficient;
      });
    }
  }
  return scalar(total);
}

/** Clamps every gradient into [-clipValue, clipValue] in place (PyTorch's `clip_grad_value_`). */
export function clipGradValue(parameters: TensorOrTensors, clipValue: number): void {
  const op = "clipGradValue";
  if (typeof clipValue !== "number" || Number.isNaN(clipValue)) fail(op, `clipValue must be a number, got ${clipValue}`);
  if (clipValue < 0) fail(op, `clipValue must be non-negative, got ${clipValue}`);
  const limit = clipValue;
  for (const g of gradsOf(op, parameters)) {
    updateElements(g, (values) => {
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        values[i] = v < -limit ? -limit : v > limit ? limit : v;
      }
    });
  }
}
