import type { Storage } from "../core/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { PendingOperands } from "./deferred.js";

/**
 * The deferred ReLU. relu(x) of a large tensor that a recorded op produced returns a tensor whose
 * elements are computed only when something reads them (./deferred.ts). Max pooling reads x
 * instead and pools relu(x) directly (the backends' maxPool `reluFirst`, exact values and
 * indices), so conv -> relu -> pool never writes the ReLU's output: for LeNet's first layer a
 * 2.9 MB pass and its copies into and out of wasm memory. Anything else computes it on first
 * read, from x as it was then, which is x as it was at the call:
 * - x requires grad (its op was recorded), so in grad mode in-place ops refuse to write it;
 * - an in-place write under noGrad first computes the pending outputs of what it overwrites;
 * - leaves (parameters, which optimizers update in place directly) are never deferred.
 * x may itself be pending (a deferred convolution: ./deferred-conv.ts).
 */

const MIN_ELEMENTS = 16 * 1024;

/** Pending outputs, each with its input. */
const pendingRelus = new PendingOperands<Tensor>();

/** Whether relu(x) may be deferred: float32, large enough to matter, produced by a recorded op. */
export function canDeferRelu(x: Tensor): boolean {
  return x.dtype === "float32" && x.gradFn !== null && x.numel() >= MIN_ELEMENTS;
}

/** relu(x) as a deferred tensor; `compute` makes its storage (the ReLU kernel on x). */
export function deferRelu(x: Tensor, compute: () => Storage): Tensor {
  return pendingRelus.defer(x.shape, [x], x, compute);
}

/** The input x of a deferred relu(x) whose elements are not computed yet; null for any other tensor. */
export function pendingReluInput(t: Tensor): Tensor | null {
  return pendingRelus.of(t);
}
