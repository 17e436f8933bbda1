import { allocate, dtypeOfStorage, type Storage } from "../../core/dtype.js";
import { Layout } from "../../core/layout.js";
import { reduceOutputDtype, type ReduceOp } from "../backend.js";
import { coalesce } from "./strided.js";

/**
 * Reductions: the reduced dims are permuted to the end, so each output element is a fold over
 * one inner block walked through strides. Sums accumulate in doubles (more accurate than
 * float32 accumulation; PyTorch's pairwise sums agree to float32 tolerance).
 */
export function reduce(op: ReduceOp, x: Storage, xl: Layout, dims: readonly number[]): Storage {
  const kept = xl.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const outSize = kept.reduce((n, d) => n * xl.shape[d], 1);
  const innerSize = dims.reduce((n, d) => n * xl.shape[d], 1);
  const out = allocate(reduceOutputDtype(op, dtypeOfStorage(x)), outSize);
  if (outSize === 0) return out;

  // Walk the outer (kept) dims with an odometer and the inner block as a flat list of offsets.
  const innerLayout = new Layout(dims.map((d) => xl.shape[d]), dims.map((d) => xl.strides[d]), 0);
  const innerOffsets = blockOffsets(innerLayout);
  const outerLayout = new Layout(kept.map((d) => xl.shape[d]), kept.map((d) => xl.strides[d]), xl.offset);
  const outerOffsets = blockOffsets(outerLayout);

  const fold = FOLDS[op];
  for (let o = 0; o < outSize; o++) out[o] = fold(x, outerOffsets[o], innerOffsets, innerSize);
  return out;
}

/** Storage offsets of every element of `layout`, in row-major order. */
function blockOffsets(layout: Layout): Int32Array | Float64Array {
  const offsets = layout.size < 2 ** 31 ? new Int32Array(layout.size) : new Float64Array(layout.size);
  if (layout.size === 0) return offsets;
  const walk = coalesce([layout]);
  const shape = walk.shape;
  const strides = walk.strides[0];
  const nd = shape.length;
  const index = new Array<number>(nd).fill(0);
  let base = walk.offsets[0];
  let i = 0;
  while (i < offsets.length) {
    for (let j = 0; j < shape[nd - 1]; j++) offsets[i++] = base + j * strides[nd - 1];
    for (let d = nd - 2; d >= 0; d--) {
      index[d]++;
      base += strides[d];
      if (index[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
  return offsets;
}

type Fold = (x: Storage, base: number, inner: Int32Array | Float64Array, n: number) => number;

const FOLDS: Record<ReduceOp, Fold> = {
  sum(x, base, inner, n) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[base + inner[i]];
    return s;
  },
  prod(x, base, inner, n) {
    let p = 1;
    for (let i = 0; i < n; i++) p *= x[base + inner[i]];
    return p;
  },
  max(x, base, inner, n) {
    let m = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = x[base + inner[i]];
      if (v > m || v !== v) {
        m = v;
        if (v !== v) break;
      }
    }
    return m;
  },
  min(x, base, inner, n) {
    let m = Infinity;
    for (let i = 0; i < n; i++) {
      const v = x[base + inner[i]];
      if (v < m || v !== v) {
        m = v;
        if (v !== v) break;
      }
    }
    return m;
  },
  argmax(x, base, inner, n) {
    let m = -Infinity;
    let at = 0;
    for (let i = 0; i < n; i++) {
      const v = x[base + inner[i]];
      if (v > m || v !== v) {
        m = v;
        at = i;
        if (v !== v) break;
      }
    }
    return at;
  },
  argmin(x, base, inner, n) {
    let m = Infinity;
    let at = 0;
    for (let i = 0; i < n; i++) {
      const v = x[base + inner[i]];
      if (v < m || v !== v) {
        m = v;
        at = i;
        if (v !== v) break;
      }
    }
    return at;
  },
};
