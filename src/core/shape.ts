import { fail, fmtShape } from "./errors.js";

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a contiguous tensor of this shape. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** NumPy/PyTorch broadcasting: align from the right; sizes must match or be 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const ndim = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const o = ndim - shape.length + i;
      const d = shape[i];
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o]) {
        fail(op, `shapes ${shapes.map(fmtShape).join(" and ")} cannot be broadcast together (dimension ${i - shape.length}: ${out[o]} vs ${d})`);
      }
    }
  }
  return out;
}

/** Resolves a possibly negative dim against `ndim`; `ndim` 0 accepts -1 and 0 as PyTorch does. */
export function normalizeDim(op: string, dim: number, ndim: number): number {
  const n = Math.max(ndim, 1);
  if (!Number.isInteger(dim) || dim < -n || dim >= n) {
    fail(op, `dimension ${dim} is out of range for a tensor of ${ndim} dimension${ndim === 1 ? "" : "s"} (expected in [${-n}, ${n - 1}])`);
  }
  return dim < 0 ? dim + n : dim;
}

export function checkShape(op: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) fail(op, `shape must be an array of non-negative integers, got ${String(shape)}`);
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      fail(op, `shape must contain non-negative integers, got [${shape.join(", ")}]`);
    }
  }
  return shape.slice() as number[];
}

/** Resolves a single -1 in a target shape against `total` elements. */
export function inferShape(op: string, shape: Shape, total: number, from: Shape): number[] {
  if (!Array.isArray(shape)) fail(op, `shape must be an array such as [2, 3], got ${JSON.stringify(shape)}`);
  let infer = -1;
  let known = 1;
  const out = shape.slice();
  for (let i = 0; i < out.length; i++) {
    if (out[i] === -1) {
      if (infer >= 0) fail(op, `only one dimension can be inferred (-1), got ${fmtShape(shape)}`);
      infer = i;
    } else if (!Number.isInteger(out[i]) || out[i] < 0) {
      fail(op, `invalid size ${out[i]} in shape ${fmtShape(shape)}`);
    } else known *= out[i];
  }
  if (infer >= 0) {
    if (known === 0 || total % known !== 0) fail(op, `shape ${fmtShape(shape)} is invalid for input of shape ${fmtShape(from)} (${total} elements)`);
    out[infer] = total / known;
  } else if (known !== total) {
    fail(op, `shape ${fmtShape(shape)} is invalid for input of shape ${fmtShape(from)} (${total} elements)`);
  }
  return out;
}
