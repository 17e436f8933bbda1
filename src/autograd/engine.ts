import { backend } from "../backend/registry.js";
import type { Storage } from "../core/dtype.js";
import { fail, fmtShape } from "../core/errors.js";
import { Layout } from "../core/layout.js";
import { sameShape } from "../core/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { noGrad } from "./grad-mode.js";
import { PartialGradient } from "./partial-gradient.js";

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

/** The tensors whose gradients the running backward pass returns (autograd.grad's inputs), else null. */
let wantedNow: Set<Tensor> | null = null;

/**
 * Whether the running backward pass hands `t`'s own gradient to the caller: `t` is one of
 * autograd.grad's inputs or, in a plain backward(), retains its gradient. An op's backward may
 * fold the backward of the op that produced its input into its own (see ../autograd/relu-fold.ts)
 * only when that input's gradient is not observed.
 */
export function gradientObserved(t: Tensor): boolean {
  return wantedNow === null ? t.retainsGrad : wantedNow.has(t);
}

/**
 * Computes d(roots)/d(leaf) for every leaf that requires grad, accumulating into `.grad` (or,
 * when `inputs` is given, returning the gradients of those tensors instead).
 *
 * The pass runs in a backend result scope: the gradients flowing between ops die within it, so
 * the backend may keep them in its own memory (no copies out and back in). Only what leaves the
 * pass is copied out of it (`outlivingScope`): leaf and retained `.grad`s and returned gradients.
 */
export function runBackward(roots: Tensor[], gradients: Tensor[], options: BackwardOptions, inputs?: Tensor[]): (Tensor | null)[] {
  const wanted = inputs ? new Set(inputs) : null;
  const outer = wantedNow;
  wantedNow = wanted;
  const order = reverseTopologicalOrder(roots);
  // State memory cannot be taken while a result scope is open: the leaves' buffers first.
  if (wanted === null) for (const tensor of order) if (tensor.requiresGrad) tensor.gradientBuffer?.reserve();
  const be = backend();
  be.openResultScope();
  try {
    return walkBackward(roots, gradients, order, options, wanted, inputs);
  } finally {
    be.closeResultScope();
    wantedNow = outer;
  }
}

/** `t`, or when its storage is a result the backend's open scope keeps, `t` over a copy that outlives the scope. */
function outlivingScope(t: Tensor): Tensor {
  const storage = backend().keepAfterScope(t.storage);
  return storage === t.storage ? t : new Tensor(storage, t.layout, t.dtype);
}

function walkBackward(roots: Tensor[], gradients: Tensor[], order: Tensor[], options: BackwardOptions, wanted: Set<Tensor> | null, inputs?: Tensor[]): (Tensor | null)[] {
  const grads = new Map<Tensor, Tensor>();
  // Gradients of wanted non-leaf tensors, taken when the walk reaches them (they are complete then).
  const found = new Map<Tensor, Tensor>();
  // Gradient sums created by accumulate and referenced only by `grads` (see accumulate).
  const owned = new Set<Tensor>();
  // How many gradients each storage has carried: a storage that carried one gradient only, and
  // holds no tensor of the graph, is referenced by that gradient alone (see leafGradient).
  const gradientStorages = new Map<Storage, number>();
  roots.forEach((root, i) => {
    // The seeds belong to the caller: never hand one out as a .grad.
    gradientStorages.set(gradients[i].storage, 2);
    accumulate(grads, owned, root, gradients[i]);
  });
  // Tensors whose .grad this pass sets while walking (retainGrad): copied out of the scope even if the walk fails.
  const retained: Tensor[] = [];

  try {
    walk(order, grads, owned, found, gradientStorages, options, wanted, retained);
  } finally {
    for (const tensor of retained) {
      const grad = tensor.peekGrad();
      if (grad !== null) tensor.replaceGrad(outlivingScope(grad));
    }
  }

  if (wanted && inputs) return inputs.map((t) => {
    const grad = found.get(t) ?? grads.get(t);
    return grad === undefined ? null : outlivingScope(grad);
  });
  // A deferred tensor never computed shares no storage (and is not computed just for this).
  const graphStorages = new Set(order.filter((t) => t.isMaterialized).map((t) => t.storage));
  for (const [tensor, grad] of grads) {
    if (tensor.gradFn === null && tensor.requiresGrad) noGrad(() => storeLeafGradient(tensor, grad, owned, gradientStorages, graphStorages));
  }
  return [];
}

/**
 * Sets or accumulates a leaf's .grad. As PyTorch's AccumulateGrad, a second gradient is added in
 * place when nothing else can hold the current one (it lives in the leaf's gradient buffer and
 * was not handed out), else into a new sum. A leaf's first gradient goes into its buffer when it
 * has one (a copy unless the walk built the sum there already), else leafGradient's fresh tensor.
 */
function storeLeafGradient(tensor: Tensor, grad: Tensor, owned: Set<Tensor>, gradientStorages: Map<Storage, number>, graphStorages: Set<Storage>): void {
  const current = tensor.peekGrad();
  const buffer = tensor.gradientBuffer;
  if (current !== null) {
    if (buffer?.holds(current) && !tensor.gradHeldElsewhere) current.add_(grad);
    else tensor.replaceGrad(outlivingScope(current.add(grad)));
    return;
  }
  if (buffer === null) {
    tensor.replaceGrad(leafGradient(grad, owned, gradientStorages, graphStorages));
    return;
  }
  if (buffer.holds(grad)) {
    tensor.replaceGrad(grad);
    return;
  }
  const storage = buffer.take();
  const layout = Layout.contiguous(grad.shape);
  const source = grad.storage as Float32Array;
  // Gradient and buffer never overlap (the buffer holds no tensor of the pass), so a plain copy will do.
  if (grad.layout.isContiguous()) storage.set(source.subarray(grad.layout.offset, grad.layout.offset + grad.numel()));
  else backend().assign(storage, layout, source, grad.layout);
  tensor.replaceGrad(new Tensor(storage, layout, "float32"));
}

/** Walks from the outputs back to the leaves: each op hands its output gradient to its inputs. */
function walk(order: Tensor[], grads: Map<Tensor, Tensor>, owned: Set<Tensor>, found: Map<Tensor, Tensor>, gradientStorages: Map<Storage, number>, options: BackwardOptions, wanted: Set<Tensor> | null, retained: Tensor[]): void {
  noGrad(() => {
    for (const tensor of order) {
      const grad = grads.get(tensor);
      if (grad === undefined) continue;
      const node = tensor.gradFn;
      if (node === null) continue;
      if (wanted?.has(tensor)) found.set(tensor, grad);
      if (tensor.retainsGrad && !wanted) {
        const current = tensor.peekGrad();
        tensor.replaceGrad(current ? current.add(grad) : grad.clone());
        retained.push(tensor);
      }
      // From here on the op may hand `grad` itself to its inputs (add gives it to both).
      owned.delete(grad);
      const inputGrads = node.apply(grad);
      node.inputs.forEach((input, i) => {
        const g = inputGrads[i];
        if (g === null || g === undefined || !input.requiresGrad) return;
        if (g instanceof PartialGradient) {
          accumulatePartial(grads, owned, input, g, wanted === null);
        } else {
          // A deferred gradient not computed yet shares no storage (and is not computed just for this).
          if (g.isMaterialized) gradientStorages.set(g.storage, (gradientStorages.get(g.storage) ?? 0) + 1);
          accumulate(grads, owned, input, g);
        }
      });
      if (!options.retainGraph) node.release();
      grads.delete(tensor);
    }
  });
}

/**
 * The tensor a leaf's .grad becomes: a fresh one, since users and optimizers modify .grad in
 * place while gradients flowing out of an op can share storage (add hands the same tensor to
 * both inputs; a view passes its gradient through). The gradient itself is fresh already when
 * the engine made it (a sum), or when its storage carried no other gradient and holds no tensor
 * of the graph (a weight gradient straight out of its op's GEMM); only otherwise is it cloned.
 * A gradient the backend's result scope keeps is copied out of it, and that copy is fresh too
 * when it is the whole storage.
 */
function leafGradient(grad: Tensor, owned: Set<Tensor>, gradientStorages: Map<Storage, number>, graphStorages: Set<Storage>): Tensor {
  const fresh = owned.has(grad) || (gradientStorages.get(grad.storage) === 1 && !graphStorages.has(grad.storage));
  const wholeStorage = grad.layout.isContiguous() && grad.layout.offset === 0 && grad.numel() === grad.storage.length;
  if (fresh || (backend().keptInScope(grad.storage) && wholeStorage)) return outlivingScope(grad);
  return outlivingScope(grad.clone());
}

function checkGradientShape(tensor: Tensor, shape: readonly number[]): void {
  if (!sameShape(shape, tensor.shape)) fail("backward", `gradient of shape ${fmtShape(shape)} does not match tensor of shape ${fmtShape(tensor.shape)}`);
}

/**
 * Adds `grad` into the running gradient of `tensor`. A sum the engine created itself (`owned`) is
 * referenced by nothing else, so later contributions are added into it in place instead of
 * allocating a new sum each time (a weight shared across time steps collects one per step).
 * Not when either lives in the backend's result scope: there the backend's add makes the new sum
 * where it is, at the cost of an arena allocation, instead of a scalar JavaScript loop.
 */
function accumulate(grads: Map<Tensor, Tensor>, owned: Set<Tensor>, tensor: Tensor, grad: Tensor): void {
  checkGradientShape(tensor, grad.shape);
  const previous = grads.get(tensor);
  if (previous === undefined) {
    grads.set(tensor, grad);
    return;
  }
  const be = backend();
  const inScope = be.keptInScope(previous.storage) || be.keptInScope(grad.storage);
  if (owned.has(previous) && !inScope && addInPlace(previous, grad)) return;
  const sum = noGrad(() => previous.add(grad));
  owned.add(sum);
  grads.set(tensor, sum);
}

/**
 * Adds a partial gradient into `tensor`'s running gradient: in place when the sum is the engine's
 * own tensor (referenced by nothing else); otherwise it is materialized once (zeros around it),
 * into the leaf's free gradient buffer when `toBuffer` (the pass sets .grads), and that tensor
 * becomes the engine's sum.
 */
function accumulatePartial(grads: Map<Tensor, Tensor>, owned: Set<Tensor>, tensor: Tensor, grad: PartialGradient, toBuffer: boolean): void {
  checkGradientShape(tensor, grad.shape);
  const previous = grads.get(tensor);
  if (previous !== undefined && owned.has(previous) && previous.dtype === grad.dtype) {
    grad.addInto(previous);
    return;
  }
  const buffer = toBuffer && tensor.gradFn === null && tensor.peekGrad() === null ? tensor.gradientBuffer?.take() : undefined;
  const dense = grad.materialize(buffer);
  owned.add(dense);
  grads.set(tensor, dense);
  if (previous !== undefined) accumulate(grads, owned, tensor, previous);
}

/** sum += grad for a dense float32 `sum` and a contiguous float32 `grad` of its shape; false when the layouts do not allow it. */
function addInPlace(sum: Tensor, grad: Tensor): boolean {
  if (sum.dtype !== "float32" || grad.dtype !== "float32" || !sum.layout.isContiguous() || !grad.layout.isContiguous()) return false;
  const target = sum.storage as Float32Array;
  const source = grad.storage as Float32Array;
  if (target === source) return false;
  const at = sum.layout.offset;
  const from = grad.layout.offset;
  const n = sum.layout.size;
  for (let i = 0; i < n; i++) target[at + i] += source[from + i];
  return true;
}
