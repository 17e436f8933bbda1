import { isGradEnabled, noGrad } from "../autograd/grad-mode.js";
import { backend } from "../backend/registry.js";
import { fail, fmtShape } from "../core/errors.js";
import { Layout } from "../core/layout.js";
import { defaultGenerator, type Generator } from "../core/rng.js";
import { broadcastShapes, sameShape } from "../core/shape.js";
import { promoteTypes } from "../core/dtype.js";
import { Tensor, type TensorOrScalar } from "../tensor/tensor.js";
import { computeReadersOf } from "./deferred.js";
import { scalarTensor } from "./elementwise.js";

/**
 * In-place writes (`copy_`, `add_`, `uniform_`, ...) for init, optimizers and buffers. They are
 * not recorded by autograd, so while grad mode is on they refuse tensors that take part in it,
 * as PyTorch refuses in-place ops on leaves that require grad.
 */
function checkWritable(op: string, target: Tensor, value?: Tensor): void {
  if (!isGradEnabled()) return;
  if (target.requiresGrad || value?.requiresGrad) {
    fail(op, "a tensor that requires grad is being used in an in-place operation; wrap the update in flint.noGrad(() => ...)");
  }
}

function write(op: string, target: Tensor, value: Tensor): void {
  const shape = broadcastShapes(op, target.shape, value.shape);
  if (!sameShape(shape, target.shape)) fail(op, `cannot write a value of shape ${fmtShape(value.shape)} into a tensor of shape ${fmtShape(target.shape)}`);
  // A deferred output reading the target must see the values from before this write.
  computeReadersOf(target.storage);
  backend().assign(target.storage, target.layout, value.storage, value.layout.expand(target.shape));
}

export function assignInto<T extends Tensor>(target: T, value: TensorOrScalar, op: string): T {
  const v = value instanceof Tensor ? value : scalarTensor(value, target.dtype);
  checkWritable(op, target, v);
  write(op, target, v);
  return target;
}

/** Computes `compute()` out of place without recording, then writes it into `target`. */
export function update<T extends Tensor>(target: T, op: string, compute: () => Tensor): T {
  checkWritable(op, target);
  const result = noGrad(compute);
  // As in PyTorch, an in-place op may not silently narrow its result (int32 += 0.5).
  if (promoteTypes(result.dtype, target.dtype) !== target.dtype) {
    fail(op, `result type ${result.dtype} can't be cast to the desired output type ${target.dtype}`);
  }
  write(op, target, result);
  return target;
}

export function uniform_<T extends Tensor>(target: T, low: number, high: number, generator: Generator = defaultGenerator): T {
  checkWritable("uniform_", target);
  const values = new Float32Array(target.numel());
  for (let i = 0; i < values.length; i++) values[i] = low + (high - low) * generator.randomFloat32();
  write("uniform_", target, new Tensor(values, Layout.contiguous(target.shape), "float32"));
  return target;
}

export function normal_<T extends Tensor>(target: T, mean: number, std: number, generator: Generator = defaultGenerator): T {
  checkWritable("normal_", target);
  const values = new Float32Array(target.numel());
  for (let i = 0; i < values.length; i++) values[i] = mean + std * generator.normal();
  write("normal_", target, new Tensor(values, Layout.contiguous(target.shape), "float32"));
  return target;
}
