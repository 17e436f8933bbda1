import { GradNode, type BackwardFn } from "../autograd/node.js";
import { isGradEnabled } from "../autograd/grad-mode.js";
import type { DType, Storage } from "../core/dtype.js";
import { Layout } from "../core/layout.js";
import { sameShape, type Shape } from "../core/shape.js";
import { Tensor } from "../tensor/tensor.js";

/** A tensor over fresh contiguous storage. */
export function fromStorage(storage: Storage, shape: Shape, dtype: DType): Tensor {
  return new Tensor(storage, Layout.contiguous(shape), dtype);
}

/**
 * A float32 tensor's elements in row-major order, for backends that read them: the storage
 * itself, or a window of it, when the tensor is contiguous (no copy), else a dense copy.
 */
export function denseElements(t: Tensor): Float32Array {
  const storage = t.storage as Float32Array;
  if (!t.isContiguous()) return t.data() as Float32Array;
  const { offset } = t.layout;
  return offset === 0 && storage.length === t.numel() ? storage : storage.subarray(offset, offset + t.numel());
}

/** A view: the same storage seen through another layout. */
export function viewOf(base: Tensor, layout: Layout): Tensor {
  return new Tensor(base.storage, layout, base.dtype);
}

/**
 * Puts `out` on the tape when grad mode is on and some input requires grad. `backward` maps the
 * output's gradient to one gradient per input (null where an input needs none); `onRelease` runs
 * once the node is released after a backward pass (see GradNode).
 */
export function record(name: string, out: Tensor, inputs: Tensor[], backward: BackwardFn, onRelease: (() => void) | null = null): Tensor {
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return out;
  out.attachGradFn(new GradNode(name, inputs, backward, onRelease));
  return out;
}

/** Sums a broadcast gradient back down to `shape` (the adjoint of broadcasting). */
export function sumToShape(grad: Tensor, shape: Shape): Tensor {
  if (sameShape(grad.shape, shape)) return grad;
  const lead = grad.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < grad.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && grad.shape[i] !== 1)) dims.push(i);
  }
  const summed = dims.length > 0 ? grad.sum(dims, { keepdim: true }) : grad;
  return summed.reshape(shape as number[]);
}
