import { noGrad } from "../autograd/grad-mode.js";
import { backend } from "../backend/registry.js";
import { fail, fmtShape } from "../core/errors.js";
import { Layout } from "../core/layout.js";
import { Tensor } from "../tensor/tensor.js";

// Optimizers and gradient clipping update every element with fused loops over the typed arrays
// instead of a chain of tensor ops: no temporaries, no dispatch, few passes over memory.
//
// To reproduce PyTorch's float32 arithmetic, the loops round where PyTorch materialises a float32
// value: every scalar hyperparameter is cast to float32 (`f(beta1)`), and each tensor op's result
// is rounded (`f(a * b)`); storing into a Float32Array rounds too. Most elements of a trajectory
// then match PyTorch bit for bit (the rest differ by an ulp or two, from FMA in PyTorch's kernels).

/** Rounds to float32: PyTorch's rounding after every float32 op. */
export const f = Math.fround;

/** The elements of a contiguous float32 tensor as a Float32Array window (writes go through), or null for a strided view. */
export function elementsOf(t: Tensor): Float32Array | null {
  if (!t.isContiguous()) return null;
  const offset = t.layout.offset;
  return (t.storage as Float32Array).subarray(offset, offset + t.numel());
}

/** The elements for reading: the tensor's own window when contiguous, else a contiguous copy. */
export function readElements(t: Tensor): Float32Array {
  return elementsOf(t) ?? (t.data() as Float32Array);
}

/** Runs `update` on the tensor's elements in place; a strided tensor is updated through a copy written back. */
export function updateElements(t: Tensor, update: (values: Float32Array) => void): void {
  const direct = elementsOf(t);
  if (direct !== null) {
    update(direct);
    return;
  }
  const copy = t.data() as Float32Array;
  update(copy);
  noGrad(() => t.copy_(new Tensor(copy, Layout.contiguous(t.shape), "float32")));
}

/**
 * A state tensor of the parameter's shape filled with `value`: contiguous, so elementsOf never
 * copies, and allocated by the backend, which may keep it where its update kernels work in place.
 */
export function stateLike(param: Tensor, value = 0): Tensor {
  const storage = backend().allocateState(param.numel());
  if (value !== 0) storage.fill(value);
  return new Tensor(storage, Layout.contiguous(param.shape), "float32");
}

/** A state tensor holding a copy of `values` (a restored state dict's), allocated as stateLike's are. */
export function stateCopyOf(values: Tensor): Tensor {
  const state = stateLike(values);
  state.storage.set(values.to("float32").data());
  return state;
}

/** A state tensor's elements; state tensors are created contiguous and restored as clones. */
export function stateElements(t: Tensor): Float32Array {
  return elementsOf(t) ?? fail("optimizer", `state tensors must be contiguous, got one of shape ${fmtShape(t.shape)} with strides ${fmtShape(t.stride())}`);
}

let scratch = new Float32Array(0);

/**
 * The gradient as the update sees it: negated for `maximize`, plus `weightDecay * param` (L2),
 * rounded to float32 like PyTorch's temporary. Returns `grad` itself when neither applies, so the
 * hot loops stay branch-free; otherwise a shared scratch buffer valid until the next call.
 */
export function effectiveGradient(grad: Float32Array, param: Float32Array, maximize: boolean, weightDecay: number): Float32Array {
  if (!maximize && weightDecay === 0) return grad;
  if (scratch.length < grad.length) scratch = new Float32Array(grad.length);
  const out = scratch.subarray(0, grad.length);
  const sign = maximize ? -1 : 1;
  const decay = f(weightDecay);
  for (let i = 0; i < grad.length; i++) out[i] = sign * grad[i] + decay * param[i];
  return out;
}
