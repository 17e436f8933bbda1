import { noGrad } from "../../autograd/grad-mode.js";
import { fail, fmtShape } from "../../core/errors.js";
import { cat } from "../../tensor/functions.js";
import { Tensor } from "../../tensor/tensor.js";
import type { TensorOrTensors } from "./clip-grad.js";

function tensorsOf(op: string, parameters: TensorOrTensors): Tensor[] {
  const list = parameters instanceof Tensor ? [parameters] : [...parameters];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) fail(op, `expected Tensors, but parameter ${i} is ${p === null ? "null" : typeof p}`);
  });
  return list;
}

/** All parameters flattened and joined into one vector (differentiable, as in PyTorch). */
export function parametersToVector(parameters: TensorOrTensors): Tensor {
  const list = tensorsOf("parametersToVector", parameters);
  if (list.length === 0) fail("parametersToVector", "expected at least one parameter");
  return cat(list.map((p) => p.reshape([-1])), 0);
}

/** Copies consecutive slices of `vec` into the parameters, in order (the inverse of parametersToVector). */
export function vectorToParameters(vec: Tensor, parameters: TensorOrTensors): void {
  const op = "vectorToParameters";
  if (!(vec instanceof Tensor)) fail(op, `expected a Tensor, but got ${vec === null ? "null" : typeof vec}`);
  if (vec.ndim !== 1) fail(op, `expected a 1-D vector, got shape ${fmtShape(vec.shape)}`);
  const list = tensorsOf(op, parameters);
  const needed = list.reduce((n, p) => n + p.numel(), 0);
  if (vec.shape[0] !== needed) fail(op, `the vector has ${vec.shape[0]} elements but the parameters have ${needed} (shapes ${list.map((p) => fmtShape(p.shape)).join(", ")})`);
  let offset = 0;
  noGrad(() => {
    for (const p of list) {
      const n = p.numel();
      p.copy_(vec.narrow(0, offset, n).reshape(p.shape.slice()));
      offset += n;
    }
  });
}
