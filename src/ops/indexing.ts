import { IndexedGradient } from "../autograd/partial-gradient.js";
import { backend } from "../backend/registry.js";
import { fail, fmtShape } from "../core/errors.js";
import { normalizeDim, numel } from "../core/shape.js";
import { cat } from "./shape.js";
import { Tensor, type TensorOrScalar } from "../tensor/tensor.js";
import { scalarTensor, where } from "./elementwise.js";
import { fromStorage, record } from "./util.js";

/** A contiguous int32 copy of an index tensor, bounds-checked against `size` (negative indices are errors, as in PyTorch). */
function checkedIndex(op: string, index: Tensor, size: number, dim: number): Int32Array {
  if (index.dtype !== "int32") fail(op, `index must be an int32 tensor, got ${index.dtype}`);
  const values = index.data() as Int32Array;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < 0 || v >= size) fail(op, `index ${v} is out of bounds for dimension ${dim} with size ${size}`);
  }
  return values;
}

export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  if (index.ndim > 1) fail("indexSelect", `index must be a vector (1-D), got shape ${fmtShape(index.shape)}`);
  const d = normalizeDim("indexSelect", dim, x.ndim);
  const src = x.ndim === 0 ? x.reshape([1]) : x;
  const ids = checkedIndex("indexSelect", index, src.shape[d], d);
  const shape = src.shape.slice();
  shape[d] = ids.length;
  const out = fromStorage(backend().indexSelect(src.storage, src.layout, d, ids), x.ndim === 0 ? [] : shape, x.dtype);
  const from = src.shape.slice();
  return record("indexSelect", out, [x], (g) => {
    if (x.ndim === 0) return [new IndexedGradient(g.reshape([1]), from, d, ids).materialize().reshape([])];
    return [new IndexedGradient(g, from, d, ids)];
  });
}

function checkGatherShapes(op: string, x: Tensor, d: number, index: Tensor): void {
  if (index.ndim !== x.ndim) fail(op, `index tensor must have the same number of dimensions as input: got ${fmtShape(index.shape)} and ${fmtShape(x.shape)}`);
  for (let k = 0; k < x.ndim; k++) {
    if (k !== d && index.shape[k] > x.shape[k]) fail(op, `size of index ${fmtShape(index.shape)} exceeds input ${fmtShape(x.shape)} at dimension ${k}`);
  }
}

export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normalizeDim("gather", dim, x.ndim);
  checkGatherShapes("gather", x, d, index);
  const ids = fromStorage(checkedIndex("gather", index, x.shape[d] ?? 1, d), index.shape, "int32");
  const out = fromStorage(backend().gather(x.storage, x.layout, d, ids.storage, ids.layout), index.shape, x.dtype);
  const from = x.shape.slice();
  return record("gather", out, [x], (g) => {
    const zeros = fromStorage(new Float32Array(x.numel()), from, "float32");
    return [zeros.scatterAdd(d, ids, g)];
  });
}

/** Out-of-place scatter: a copy of `x` with src written (or added) at `index` along `dim`. */
export function scatter(x: Tensor, dim: number, index: Tensor, src: TensorOrScalar, accumulate: boolean): Tensor {
  const op = accumulate ? "scatterAdd" : "scatter";
  const d = normalizeDim(op, dim, x.ndim);
  checkGatherShapes(op, x, d, index);
  const source = src instanceof Tensor ? src : scalarTensor(src, x.dtype).expand(index.shape.slice());
  if (src instanceof Tensor) {
    if (src.ndim !== index.ndim) fail(op, `index ${fmtShape(index.shape)} and src ${fmtShape(src.shape)} must have the same number of dimensions`);
    for (let k = 0; k < index.ndim; k++) {
      if (index.shape[k] > source.shape[k]) fail(op, `index ${fmtShape(index.shape)} is larger than src ${fmtShape(source.shape)} at dimension ${k}`);
    }
  }
  const ids = fromStorage(checkedIndex(op, index, x.shape[d] ?? 1, d), index.shape, "int32");
  const storage = backend().copy(x.storage, x.layout, x.dtype);
  backend().scatter(storage, x.shape, d, ids.storage, ids.layout, source.storage, source.layout, accumulate);
  const out = fromStorage(storage, x.shape, x.dtype);
  return record(op, out, [x, source], (g) => [
    // Overwritten positions take no gradient back to x; scatterAdd passes it straight through.
    x.requiresGrad ? (accumulate ? g : g.scatter(d, ids, 0)) : null,
    source.requiresGrad ? padTo(g.gather(d, ids), source.shape) : null,
  ]);
}

/** Pads the gradient of the index-shaped part of src with zeros back to src's (possibly larger) shape. */
function padTo(g: Tensor, shape: readonly number[]): Tensor {
  let out = g;
  for (let k = 0; k < shape.length; k++) {
    if (out.shape[k] < shape[k]) {
      const padShape = out.shape.slice();
      padShape[k] = shape[k] - out.shape[k];
      out = cat([out, fromStorage(new Float32Array(numel(padShape)), padShape, "float32")], k);
    }
  }
  return out;
}

export function maskedFill(x: Tensor, mask: Tensor, value: TensorOrScalar): Tensor {
  if (mask.dtype !== "bool") fail("maskedFill", `mask must be a bool tensor, got ${mask.dtype}`);
  // The result keeps x's dtype (PyTorch casts the value: masked_fill(int, 2.5) writes 2).
  const fill = value instanceof Tensor ? value : scalarTensor(x.dtype === "bool" ? Boolean(value) : x.dtype === "int32" ? Math.trunc(Number(value)) : Number(value), x.dtype);
  if (fill.numel() !== 1) fail("maskedFill", `value must be a scalar or a 0-d tensor, got shape ${fmtShape(fill.shape)}`);
  const out = where(mask, fill.dtype === x.dtype ? fill.reshape([]) : fill.reshape([]).to(x.dtype), x);
  if (out.shape.length !== x.shape.length || out.shape.some((s, i) => s !== x.shape[i])) {
    fail("maskedFill", `mask of shape ${fmtShape(mask.shape)} must broadcast to the input's shape ${fmtShape(x.shape)}`);
  }
  return out;
}
