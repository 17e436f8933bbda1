import { RegionGradient } from "../autograd/partial-gradient.js";
import { backend } from "../backend/registry.js";
import { allocate, promoteTypes } from "../core/dtype.js";
import { fail, fmtShape } from "../core/errors.js";
import { Layout } from "../core/layout.js";
import { inferShape, normalizeDim, numel } from "../core/shape.js";
import { Tensor, type SliceSpec } from "../tensor/tensor.js";
import { fromStorage, record, sumToShape, viewOf } from "./util.js";

/** A view op: the output shares storage; the gradient is mapped back by `backward`. */
function viewOp(name: string, x: Tensor, layout: Layout, backward: (g: Tensor) => Tensor | RegionGradient): Tensor {
  return record(name, viewOf(x, layout), [x], (g) => [backward(g)]);
}

export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  const out = fromStorage(backend().copy(x.storage, x.layout, x.dtype), x.shape, x.dtype);
  return record("contiguous", out, [x], (g) => [g]);
}

export function view(x: Tensor, shape: number[]): Tensor {
  const target = inferShape("view", shape, x.numel(), x.shape);
  const layout = x.layout.view(target);
  if (layout === null) {
    fail("view", `size ${fmtShape(target)} is not compatible with input of shape ${fmtShape(x.shape)} and strides ${fmtShape(x.layout.strides)} (the data is not laid out for a view); use .reshape(...) instead`);
  }
  const from = x.shape.slice();
  return viewOp("view", x, layout, (g) => g.reshape(from));
}

/** A view when the strides allow it, otherwise a copy (PyTorch's reshape). */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const target = inferShape("reshape", shape, x.numel(), x.shape);
  const layout = x.layout.view(target);
  const from = x.shape.slice();
  if (layout !== null) return viewOp("reshape", x, layout, (g) => g.reshape(from));
  return view(contiguous(x), target);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim("flatten", startDim, x.ndim);
  const e = normalizeDim("flatten", endDim, x.ndim);
  if (s > e) fail("flatten", `startDim (${startDim}) cannot come after endDim (${endDim})`);
  const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

export function unflatten(x: Tensor, dim: number, sizes: number[]): Tensor {
  const d = normalizeDim("unflatten", dim, x.ndim);
  const inner = inferShape("unflatten", sizes, x.shape[d], [x.shape[d]]);
  return view(x, [...x.shape.slice(0, d), ...inner, ...x.shape.slice(d + 1)]);
}

export function squeeze(x: Tensor, dim?: number | number[]): Tensor {
  const dims = dim === undefined ? x.shape.map((_, i) => i) : (Array.isArray(dim) ? dim : [dim]).map((d) => normalizeDim("squeeze", d, x.ndim));
  const from = x.shape.slice();
  return viewOp("squeeze", x, x.layout.squeeze(dims), (g) => g.reshape(from));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim("unsqueeze", dim, x.ndim + 1);
  return viewOp("unsqueeze", x, x.layout.unsqueeze(d), (g) => g.squeeze(d));
}

export function permute(x: Tensor, dims: number[]): Tensor {
  if (!Array.isArray(dims)) fail("permute", `dims must be an array such as [1, 0], got ${JSON.stringify(dims)}`);
  if (dims.length !== x.ndim) fail("permute", `number of dims don't match: got ${fmtShape(dims)} for a tensor of shape ${fmtShape(x.shape)}`);
  const order = dims.map((d) => normalizeDim("permute", d, x.ndim));
  if (new Set(order).size !== order.length) fail("permute", `repeated dim in ${fmtShape(dims)}`);
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => (inverse[d] = i));
  return viewOp("permute", x, x.layout.permute(order), (g) => g.permute(inverse));
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  if (x.ndim === 0) return x;
  const a = normalizeDim("transpose", dim0, x.ndim);
  const b = normalizeDim("transpose", dim1, x.ndim);
  return viewOp("transpose", x, x.layout.transpose(a, b), (g) => g.transpose(a, b));
}

export function t(x: Tensor): Tensor {
  if (x.ndim > 2) fail("t", `expects a tensor with <= 2 dimensions, but got shape ${fmtShape(x.shape)}; use transpose(dim0, dim1)`);
  return x.ndim < 2 ? x : transpose(x, 0, 1);
}

/** Broadcasts to `shape` without copying (stride 0); -1 keeps a size. */
export function expand(x: Tensor, shape: number[]): Tensor {
  if (!Array.isArray(shape)) fail("expand", `shape must be an array such as [2, 3], got ${JSON.stringify(shape)}`);
  if (shape.length < x.ndim) fail("expand", `the number of sizes provided (${shape.length}) must be at least the number of dimensions (${x.ndim}) of shape ${fmtShape(x.shape)}`);
  const lead = shape.length - x.ndim;
  const target = shape.map((s, i) => {
    const own = i >= lead ? x.shape[i - lead] : undefined;
    if (s === -1) {
      if (own === undefined) fail("expand", `-1 is not allowed in a new leading dimension (target ${fmtShape(shape)})`);
      return own;
    }
    if (own !== undefined && own !== 1 && own !== s) fail("expand", `the expanded size of the tensor (${s}) must match the existing size (${own}) at non-singleton dimension ${i}; target ${fmtShape(shape)}, tensor ${fmtShape(x.shape)}`);
    return s;
  });
  const from = x.shape.slice();
  return viewOp("expand", x, x.layout.expand(target), (g) => sumToShape(g, from));
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim("narrow", dim, x.ndim);
  const size = x.shape[d];
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > size) {
    fail("narrow", `start (${start}) + length (${length}) exceeds dimension ${dim} of size ${size} (shape ${fmtShape(x.shape)})`);
  }
  const from = x.shape.slice();
  return viewOp("narrow", x, x.layout.narrow(d, s, length), (g) => new RegionGradient(g, from, (l) => l.narrow(d, s, length)));
}

export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normalizeDim("select", dim, x.ndim);
  const size = x.shape[d];
  const i = index < 0 ? index + size : index;
  if (!Number.isInteger(i) || i < 0 || i >= size) fail("select", `index ${index} is out of bounds for dimension ${dim} with size ${size}`);
  const from = x.shape.slice();
  return viewOp("select", x, x.layout.select(d, i), (g) => new RegionGradient(g, from, (l) => l.select(d, i)));
}

function stepSlice(x: Tensor, dim: number, start: number, count: number, step: number): Tensor {
  const from = x.shape.slice();
  return viewOp("slice", x, x.layout.slice(dim, start, count, step), (g) => new RegionGradient(g, from, (l) => l.slice(dim, start, count, step)));
}

/** Python indexing, one spec per leading dim: a number selects, [start, end, step] slices, null keeps all. */
export function slice(x: Tensor, specs: SliceSpec[]): Tensor {
  if (specs.length > x.ndim) fail("slice", `too many indices (${specs.length}) for a tensor of shape ${fmtShape(x.shape)}`);
  let out = x;
  let dim = 0;
  for (const spec of specs) {
    if (spec === null) {
      dim++;
    } else if (typeof spec === "number") {
      out = select(out, dim, spec);
    } else if (Array.isArray(spec)) {
      const size = out.shape[dim];
      const step = spec[2] ?? 1;
      if (!Number.isInteger(step) || step <= 0) fail("slice", `step must be a positive integer, got ${step}`);
      const clampIndex = (v: number | null | undefined, fallback: number) => {
        if (v === undefined || v === null) return fallback;
        const r = v < 0 ? v + size : v;
        return Math.min(Math.max(r, 0), size);
      };
      const start = clampIndex(spec[0], 0);
      const end = clampIndex(spec[1], size);
      const count = Math.max(0, Math.ceil((end - start) / step));
      out = stepSlice(out, dim, start, count, step);
      dim++;
    } else {
      fail("slice", `each index must be a number, [start, end, step] or null, got ${JSON.stringify(spec)}`);
    }
  }
  return out;
}

export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) fail("chunk", `chunks must be a positive integer, got ${chunks}`);
  const d = normalizeDim("chunk", dim, x.ndim);
  const size = Math.ceil(x.shape[d] / chunks);
  return split(x, Math.max(size, 1), d);
}

export function split(x: Tensor, splitSizeOrSections: number | number[], dim = 0): Tensor[] {
  const d = normalizeDim("split", dim, x.ndim);
  const total = x.shape[d];
  let sizes: number[];
  if (Array.isArray(splitSizeOrSections)) {
    sizes = splitSizeOrSections;
    const sum = sizes.reduce((a, b) => a + b, 0);
    if (sum !== total) fail("split", `split sizes ${fmtShape(sizes)} sum to ${sum} but dimension ${dim} has size ${total}`);
  } else {
    const step = splitSizeOrSections;
    if (!Number.isInteger(step) || step <= 0) fail("split", `split size must be a positive integer, got ${step}`);
    sizes = [];
    for (let s = 0; s < total; s += step) sizes.push(Math.min(step, total - s));
    if (sizes.length === 0) sizes.push(0);
  }
  let start = 0;
  return sizes.map((len) => {
    const part = narrow(x, d, start, len);
    start += len;
    return part;
  });
}

export function unbind(x: Tensor, dim = 0): Tensor[] {
  const d = normalizeDim("unbind", dim, x.ndim);
  return Array.from({ length: x.shape[d] }, (_, i) => select(x, d, i));
}

export function flip(x: Tensor, dims: number[]): Tensor {
  const ds = dims.map((d) => normalizeDim("flip", d, x.ndim));
  // PyTorch's flip returns a copy; a negative-stride view read by contiguous() makes it.
  const out = fromStorage(backend().copy(x.storage, x.layout.flip(ds), x.dtype), x.shape, x.dtype);
  return record("flip", out, [x], (g) => [flip(g, ds)]);
}

/** Tiles the tensor: each dim i is repeated sizes[i] times (leading sizes add new dims). */
export function repeat(x: Tensor, sizes: number[]): Tensor {
  if (sizes.length < x.ndim) fail("repeat", `number of repeat dims (${sizes.length}) cannot be smaller than the number of tensor dims (${x.ndim})`);
  const padded = [...new Array<number>(sizes.length - x.ndim).fill(1), ...x.shape];
  // [d0, d1] -> [1, d0, 1, d1] -> expand [r0, d0, r1, d1] -> reshape [r0*d0, r1*d1].
  const interleaved = padded.flatMap((d) => [1, d]);
  const expanded = sizes.flatMap((r, i) => [r, padded[i]]);
  const out = reshape(expand(reshape(x, interleaved), expanded), sizes.map((r, i) => r * padded[i]));
  // PyTorch's repeat always copies, even when every size is 1 and the reshapes stayed views.
  return out.storage === x.storage ? out.clone() : out;
}

export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) fail("cat", "expected a non-empty list of tensors");
  // PyTorch skips 1-D empty tensors in cat (legacy behaviour kept for compatibility).
  const parts = tensors.filter((t) => !(t.ndim === 1 && t.shape[0] === 0));
  if (parts.length === 0) return tensors[0];
  const ref = parts[0];
  const d = normalizeDim("cat", dim, ref.ndim);
  let dtype = ref.dtype;
  let total = 0;
  for (const [i, t] of parts.entries()) {
    if (t.ndim !== ref.ndim) fail("cat", `tensors must have the same number of dimensions: got ${fmtShape(ref.shape)} and ${fmtShape(t.shape)} (tensor ${i})`);
    for (let k = 0; k < ref.ndim; k++) {
      if (k !== d && t.shape[k] !== ref.shape[k]) fail("cat", `sizes of tensors must match except in dimension ${d}: got ${fmtShape(ref.shape)} and ${fmtShape(t.shape)} (tensor ${i})`);
    }
    dtype = promoteTypes(dtype, t.dtype);
    total += t.shape[d];
  }
  const shape = ref.shape.slice();
  shape[d] = total;
  const storage = allocate(dtype, numel(shape));
  const outLayout = Layout.contiguous(shape);
  let start = 0;
  const starts = parts.map((t) => {
    backend().assign(storage, outLayout.narrow(d, start, t.shape[d]), t.storage, t.layout);
    const s = start;
    start += t.shape[d];
    return s;
  });
  const out = fromStorage(storage, shape, dtype);
  return record("cat", out, parts, (g) => parts.map((t, i) => (t.requiresGrad ? g.narrow(d, starts[i], t.shape[d]) : null)));
}

export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) fail("stack", "expected a non-empty list of tensors");
  const ref = tensors[0];
  for (const [i, t] of tensors.entries()) {
    if (t.ndim !== ref.ndim || t.shape.some((s, k) => s !== ref.shape[k])) fail("stack", `expects each tensor to be equal size, but got ${fmtShape(ref.shape)} at entry 0 and ${fmtShape(t.shape)} at entry ${i}`);
  }
  const d = normalizeDim("stack", dim, ref.ndim + 1);
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}
