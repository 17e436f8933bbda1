import { fail, fmtShape } from "../core/errors.js";
import { sameShape } from "../core/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { noGrad } from "./grad-mode.js";

export interface BackwardOptions {
  retainGraph?: boolean;
}

/**
 * Every tensor the roots depend on through recorded ops, newest first. An op's output is always
 * created after its inputs, so descending creation order is a reverse topological order.
 */
function reverseTopologicalOrder(roots: Tensor[]): Tensor[] {
  const reachable = new Set<Tensor>(roots);
  const stack = [...roots];
  while (stack.length > 0) {
    const tensor = stack.pop()!;
    for (const input of tensor.gradFn?.inputs ?? []) {
      if (!reachable.has(input)) {
        reachable.add(input);
        stack.push(input);
      }
    }
  }
  return [...reachable].sort((a, b) => b.sequence - a.sequence);
}

/**
 * Computes d(roots)/d(leaf) for every leaf that requires grad, accumulating into `.grad` (or,
 * when `inputs` is given, returning the gradients of those tensors instead).
 */
export function runBackward(roots: Tensor[], gradients: Tensor[], options: BackwardOptions, inputs?: Tensor[]): (Tensor | null)[] {
  const grads = new Map<Tensor, Tensor>();
  const wanted = inputs ? new Set(inputs) : null;
  // Gradients of wanted non-leaf tensors, taken when the walk reaches them (they are complete then).
  const found = new Map<Tensor, Tensor>();
  roots.forEach((root, i) => accumulate(grads, root, gradients[i]));
  const order = reverseTopologicalOrder(roots);

  noGrad(() => {
    // Walk from the outputs back to the leaves: each op hands its output gradient to its inputs.
    for (const tensor of order) {
      const grad = grads.get(tensor);
      if (grad === undefined) continue;
      const node = tensor.gradFn;
      if (node === null) continue;
      if (wanted?.has(tensor)) found.set(tensor, grad);
      if (tensor.retainsGrad && !wanted) tensor.grad = tensor.grad ? tensor.grad.add(grad) : grad.clone();
      const inputGrads = node.apply(grad);
      node.inputs.forEach((input, i) => {
        const g = inputGrads[i];
        if (g !== null && g !== undefined && input.requiresGrad) accumulate(grads, input, g);
      });
      if (!options.retainGraph) node.release();
      grads.delete(tensor);
    }
  });

  if (wanted && inputs) return inputs.map((t) => found.get(t) ?? grads.get(t) ?? null);
  for (const [tensor, grad] of grads) {
    if (tensor.gradFn === null && tensor.requiresGrad) {
      // A fresh tensor per leaf: gradients flowing out of an op can share storage (add hands the
      // same tensor to both inputs), and users and optimizers modify .grad in place.
      tensor.grad = noGrad(() => (tensor.grad ? tensor.grad.add(grad) : grad.clone()));
    }
  }
  return [];
}

function accumulate(grads: Map<Tensor, Tensor>, tensor: Tensor, grad: Tensor): void {
  if (!sameShape(grad.shape, tensor.shape)) {
    fail("backward", `gradient of shape ${fmtShape(grad.shape)} does not match tensor of shape ${fmtShape(tensor.shape)}`);
  }
  const previous = grads.get(tensor);
  grads.set(tensor, previous ? noGrad(() => previous.add(grad)) : grad);
}
