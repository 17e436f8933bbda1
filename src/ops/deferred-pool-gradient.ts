import type { WindowGeometry } from "../backend/backend.js";
import { backend } from "../backend/registry.js";
import { gradientObserved } from "../autograd/engine.js";
import type { Tensor } from "../tensor/tensor.js";
import { PendingOperands } from "./deferred.js";

/**
 * The deferred max-pooling gradient. Max pooling's backward scatters each window's gradient to
 * the window's maximum: a mostly-zero gradient as large as the pooled input. When that input is a
 * convolution's output (or the ReLU of one, its backward folded into the pooling's), the gradient
 * goes straight to the convolution's backward, which for a first layer (no input gradient) needs
 * only sums over it: the backend's conv2dBackwardFromMaxPool computes them from the pooled
 * gradient and the indices, without scattering it (LeNet's first layer: a 2.9 MB zero fill and
 * scatter, and a dense 18.4M multiply-add weight gradient of which three quarters multiply
 * zeros). Anything else reading the gradient computes it (maxPoolBackward) on first read; it
 * never leaves the backward pass uncomputed (a gradient that does is read there: a leaf's .grad,
 * a returned or retained gradient), so the pooled gradient it reads is still valid then.
 */

/** What max pooling's backward would scatter: its arguments. */
export interface MaxPoolGradient {
  /** The gradient of the pooled output. */
  grad: Tensor;
  indices: Int32Array;
  g: WindowGeometry;
  /** The pooled values when a ReLU's backward is folded in, else null. */
  reluPooled: Float32Array | null;
}

const pendingGradients = new PendingOperands<MaxPoolGradient>();

/**
 * Whether the gradient of pooled input `x` goes unchanged to a convolution's backward: `x` is a
 * recorded convolution's output or, with `reluFolded`, a ReLU of one whose backward the pooling
 * folds; the convolution output's own gradient is not observed.
 */
export function goesToConvolution(x: Tensor, reluFolded: boolean): boolean {
  const produced = reluFolded ? x.gradFn?.inputs[0] : x;
  return produced !== undefined && produced.gradFn?.name === "conv2d" && !gradientObserved(produced);
}

/** maxPoolBackward(gradient) as a deferred tensor of `shape` (the pooled input's). */
export function deferMaxPoolGradient(gradient: MaxPoolGradient, shape: readonly number[]): Tensor {
  // It reads the pooled gradient in place, which nothing writes: no reads to register.
  return pendingGradients.defer(shape, [], gradient, ({ grad, indices, g, reluPooled }) => backend().maxPoolBackward(grad.storage, grad.layout, indices, g, reluPooled));
}

/** The pooling arguments of a deferred max-pooling gradient not computed yet; null for any other tensor. */
export function pendingMaxPoolGradient(t: Tensor): MaxPoolGradient | null {
  return pendingGradients.of(t);
}
