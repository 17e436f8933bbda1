import { reduceOutputDtype, type ReduceOp } from "../backend/backend.js";
import { backend } from "../backend/registry.js";
import { fail, fmtShape } from "../core/errors.js";
import { normalizeDim, numel } from "../core/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { where } from "./elementwise.js";
import { cat } from "./shape.js";
import { fromStorage, record } from "./util.js";

export interface KeepDim {
  keepdim?: boolean;
}
export interface VarOptions extends KeepDim {
  /** Subtracted from the count in the denominator: 1 (default) is Bessel's correction. */
  correction?: number;
  /** PyTorch's older spelling: unbiased false means correction 0. */
  unbiased?: boolean;
}
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

/** Normalizes `dim` (undefined or null: every dim) into sorted unique dims. */
function resolveDims(op: string, x: Tensor, dim: number | number[] | null | undefined): number[] {
  if (dim === undefined || dim === null) return x.shape.map((_, i) => i);
  const list = (Array.isArray(dim) ? dim : [dim]).map((d) => normalizeDim(op, d, x.ndim));
  if (new Set(list).size !== list.length) fail(op, `dim ${JSON.stringify(dim)} appears multiple times in the list of dims`);
  // A 0-d tensor accepts dim 0 / -1 (as PyTorch does) but has nothing to reduce.
  return x.ndim === 0 ? [] : list.sort((a, b) => a - b);
}

function keptShape(x: Tensor, dims: number[], keepdim: boolean): number[] {
  const out: number[] = [];
  x.shape.forEach((d, i) => {
    if (!dims.includes(i)) out.push(d);
    else if (keepdim) out.push(1);
  });
  return out;
}

/** Runs a reduction kernel; the result has `dims` removed or kept as size 1. */
function reduceKernel(op: ReduceOp, x: Tensor, dims: number[], keepdim: boolean): Tensor {
  const storage = backend().reduce(op, x.storage, x.layout, dims);
  return fromStorage(storage, keptShape(x, dims, keepdim), reduceOutputDtype(op, x.dtype));
}

/** Broadcasts a reduced gradient back over the reduced dims. */
function expandBack(g: Tensor, x: Tensor, dims: number[], keepdim: boolean): Tensor {
  let grad = g;
  if (!keepdim && x.ndim > 0) for (const d of dims) grad = grad.unsqueeze(d);
  return grad.expand(x.shape.slice());
}

export function sum(x: Tensor, dim?: number | number[] | null, options?: KeepDim): Tensor {
  const dims = resolveDims("sum", x, dim);
  const keepdim = options?.keepdim ?? false;
  const out = reduceKernel("sum", x, dims, keepdim);
  return record("sum", out, [x], (g) => [expandBack(g, x, dims, keepdim)]);
}

export function mean(x: Tensor, dim?: number | number[] | null, options?: KeepDim): Tensor {
  if (x.dtype !== "float32") fail("mean", `expected a float32 tensor, got ${x.dtype} (convert with .float())`);
  const dims = resolveDims("mean", x, dim);
  const count = dims.reduce((n, d) => n * (x.shape[d] ?? 1), 1);
  return sum(x, dims, options).div(count);
}

export function prod(x: Tensor, dim?: number | null, options?: KeepDim): Tensor {
  const dims = resolveDims("prod", x, dim);
  const keepdim = options?.keepdim ?? false;
  const out = reduceKernel("prod", x, dims, keepdim);
  return record("prod", out, [x], (g) => {
    // d prod / d x_i = product of the others: out / x_i when x_i != 0; with exactly one zero in
    // the slice, that element gets the product of the non-zeros and the rest get 0.
    const isZero = x.eq(0);
    const nonZero = where(isZero, 1, x);
    const prodNonZero = expandBack(reduceKernel("prod", nonZero, dims, keepdim), x, dims, keepdim);
    const zeros = expandBack(reduceKernel("sum", isZero, dims, keepdim), x, dims, keepdim);
    const others = where(zeros.eq(0), prodNonZero.div(nonZero), where(zeros.eq(1).logicalAnd(isZero), prodNonZero, 0));
    return [expandBack(g, x, dims, keepdim).mul(others)];
  });
}

/** max/min over everything: the gradient is shared evenly among the tied maxima (PyTorch's rule). */
export function maxAll(x: Tensor, op: "max" | "min"): Tensor {
  if (x.numel() === 0) fail(op, "cannot reduce an empty tensor with no identity (specify a dim)");
  return amax(x, op, null, {});
}

export function amax(x: Tensor, op: "max" | "min", dim?: number | number[] | null, options?: KeepDim): Tensor {
  const name = op === "max" ? "amax" : "amin";
  const dims = resolveDims(name, x, dim);
  const keepdim = options?.keepdim ?? false;
  for (const d of dims) if (x.shape[d] === 0) fail(name, `cannot reduce over dimension ${d} of size 0 (shape ${fmtShape(x.shape)})`);
  const out = reduceKernel(op, x, dims, keepdim);
  return record(name, out, [x], (g) => {
    const hit = x.eq(expandBack(out, x, dims, keepdim)).float();
    const count = expandBack(hit.sum(dims, { keepdim }), x, dims, keepdim);
    return [expandBack(g, x, dims, keepdim).mul(hit).div(count)];
  });
}

/** max/min along one dim: values and the index of the first extreme element. */
export function maxDim(x: Tensor, op: "max" | "min", dim: number, options?: KeepDim): ValuesIndices {
  const d = normalizeDim(op, dim, x.ndim);
  if (x.ndim > 0 && x.shape[d] === 0) fail(op, `cannot reduce over dimension ${dim} of size 0 (shape ${fmtShape(x.shape)})`);
  const keepdim = options?.keepdim ?? false;
  // A 0-d tensor accepts dim 0 but has no dim to reduce: its value is the max, at index 0.
  const dims = x.ndim === 0 ? [] : [d];
  const indices = reduceKernel(op === "max" ? "argmax" : "argmin", x, dims, keepdim);
  const values = reduceKernel(op, x, dims, keepdim);
  const recorded = record(op, values, [x], (g) => {
    const gk = keepdim || x.ndim === 0 ? g : g.unsqueeze(d);
    const ik = keepdim || x.ndim === 0 ? indices : indices.unsqueeze(d);
    const zeros = fromStorage(new Float32Array(x.numel()), x.shape, "float32");
    return [x.ndim === 0 ? g : zeros.scatter(d, ik, gk)];
  });
  return { values: recorded, indices };
}

export function argReduce(x: Tensor, op: "argmax" | "argmin", dim?: number | null, options?: KeepDim): Tensor {
  if (dim === undefined || dim === null) {
    const flat = x.reshape([-1]);
    if (flat.numel() === 0) fail(op, "cannot take the index of an empty tensor");
    const index = reduceKernel(op, flat, [0], false);
    return options?.keepdim ? index.reshape(x.shape.map(() => 1)) : index;
  }
  const d = normalizeDim(op, dim, x.ndim);
  if (x.ndim > 0 && x.shape[d] === 0) fail(op, `cannot take the index over dimension ${dim} of size 0`);
  return reduceKernel(op, x, x.ndim === 0 ? [] : [d], options?.keepdim ?? false);
}

export function variance(x: Tensor, dim?: number | number[] | null, options?: VarOptions): Tensor {
  const dims = resolveDims("var", x, dim);
  const correction = options?.correction ?? (options?.unbiased === false ? 0 : 1);
  const count = dims.reduce((n, d) => n * (x.shape[d] ?? 1), 1);
  const centered = x.sub(x.mean(dims, { keepdim: true }));
  return centered.square().sum(dims, { keepdim: options?.keepdim }).div(Math.max(0, count - correction));
}

export function std(x: Tensor, dim?: number | number[] | null, options?: VarOptions): Tensor {
  return variance(x, dim, options).sqrt();
}

/** log(sum(exp(x))) computed stably: the max is subtracted first (and is not differentiated). */
export function logsumexp(x: Tensor, dim?: number | number[] | null, options?: KeepDim): Tensor {
  const dims = resolveDims("logsumexp", x, dim);
  const keepdim = options?.keepdim ?? false;
  // An empty slice has no max to subtract; its sum of exps is 0, so the result is -inf.
  if (dims.some((d) => x.shape[d] === 0)) {
    const out = x.exp().sum(dims, { keepdim: true }).log();
    return keepdim ? out : out.squeeze(dims);
  }
  const m = x.detach().amax(dims, { keepdim: true });
  const shift = where(m.isinf(), 0, m);
  const out = x.sub(shift).exp().sum(dims, { keepdim: true }).log().add(shift);
  return keepdim ? out : out.squeeze(dims);
}

/** True where every element is non-zero; an empty slice gives true (all = not any(not x)). */
export function all(x: Tensor, dim?: number | null, options?: KeepDim): Tensor {
  resolveDims("all", x, dim);
  return any(x.eq(0), dim, options).logicalNot();
}

/** True where some element is non-zero; an empty slice gives false. */
export function any(x: Tensor, dim?: number | null, options?: KeepDim): Tensor {
  const dims = resolveDims("any", x, dim);
  const keepdim = options?.keepdim ?? false;
  // Backends need not define max over nothing, so empty slices are answered here.
  if (dims.some((d) => x.shape[d] === 0)) return fromStorage(new Uint8Array(numel(keptShape(x, dims, keepdim))), keptShape(x, dims, keepdim), "bool");
  return reduceKernel("max", x.ne(0), dims, keepdim);
}

/** The p-norm over `dim` (all elements by default); p may be Infinity. */
export function norm(x: Tensor, p: number, dim?: number | number[] | null, options?: KeepDim): Tensor {
  if (p === Infinity) return x.abs().amax(dim, options);
  if (p === 2) return euclideanNorm(x, dim, options);
  if (p === 1) return x.abs().sum(dim, options);
  return x.abs().pow(p).sum(dim, options).pow(1 / p);
}

/** sqrt(sum(x^2)) with PyTorch's gradient x / norm, taken as 0 where the norm is 0 (not NaN). */
function euclideanNorm(x: Tensor, dim: number | number[] | null | undefined, options?: KeepDim): Tensor {
  const dims = resolveDims("norm", x, dim);
  const keepdim = options?.keepdim ?? false;
  const out = reduceKernel("sum", x.detach().square(), dims, keepdim).sqrt();
  return record("norm", out, [x], (g) => {
    const norm = expandBack(out, x, dims, keepdim);
    return [where(norm.eq(0), 0, expandBack(g, x, dims, keepdim).mul(x).div(norm))];
  });
}

/** Cumulative sum along `dim`, as running sums of narrow slices joined with cat. */
export function cumsum(x: Tensor, dim: number): Tensor {
  const d = normalizeDim("cumsum", dim, x.ndim);
  if (x.ndim === 0 || x.shape[d] <= 1) return x.clone();
  const parts: Tensor[] = [];
  let running: Tensor | null = null;
  for (let i = 0; i < x.shape[d]; i++) {
    const slice = x.narrow(d, i, 1);
    running = running === null ? slice : running.add(slice);
    parts.push(running);
  }
  return cat(parts, d);
}
