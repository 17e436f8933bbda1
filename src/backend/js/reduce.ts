import { allocate, dtypeOfStorage, type Storage } from "../../core/dtype.js";
import { Layout } from "../../core/layout.js";
import { reduceOutputDtype, type ReduceOp } from "../backend.js";
import { coalesce } from "./strided.js";

/**
 * Reductions: the reduced dims are permuted to the end, so each output element is a fold over
 * one inner block walked through strides. The inner block is coalesced into rows (its innermost
 * run of elements, one stride apart) listed by their offsets, so a contiguous block is one row
 * and no per-element offset table is built. Sums accumulate in doubles (more accurate than
 * float32 accumulation; PyTorch's pairwise sums agree to float32 tolerance).
 */
export function reduce(op: ReduceOp, x: Storage, xl: Layout, dims: readonly number[]): Storage {
  const kept = xl.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const outSize = kept.reduce((n, d) => n * xl.shape[d], 1);
  const innerSize = dims.reduce((n, d) => n * xl.shape[d], 1);
  const out = allocate(reduceOutputDtype(op, dtypeOfStorage(x)), outSize);
  if (outSize === 0) return out;

  const inner = coalesce([new Layout(dims.map((d) => xl.shape[d]), dims.map((d) => xl.strides[d]), 0)]);
  const nd = inner.shape.length;
  const rowLength = innerSize === 0 ? 0 : inner.shape[nd - 1];
  const rowStride = inner.strides[0][nd - 1];
  const rowOffsets = innerSize === 0 ? new Int32Array(0) : blockOffsets(new Layout(inner.shape.slice(0, -1), inner.strides[0].slice(0, -1), 0));
  const outerOffsets = blockOffsets(new Layout(kept.map((d) => xl.shape[d]), kept.map((d) => xl.strides[d]), xl.offset));

  const fold = FOLDS[op];
  for (let o = 0; o < outSize; o++) out[o] = fold(x, outerOffsets[o], rowOffsets, rowLength, rowStride);
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

/** Folds the rows starting at base + rows[r], each `length` elements `stride` apart. */
type Fold = (x: Storage, base: number, rows: Int32Array | Float64Array, length: number, stride: number) => number;

const FOLDS: Record<ReduceOp, Fold> = {
  sum(x, base, rows, length, stride) {
    let s = 0;
    for (let r = 0; r < rows.length; r++) {
      for (let i = 0, p = base + rows[r]; i < length; i++, p += stride) s += x[p];
    }
    return s;
  },
  prod(x, base, rows, length, stride) {
    let s = 1;
    for (let r = 0; r < rows.length; r++) {
      for (let i = 0, p = base + rows[r]; i < length; i++, p += stride) s *= x[p];
    }
    return s;
  },
  // max/min stop at the first NaN, which is the result (PyTorch propagates NaN).
  max(x, base, rows, length, stride) {
    let m = -Infinity;
    for (let r = 0; r < rows.length; r++) {
      for (let i = 0, p = base + rows[r]; i < length; i++, p += stride) {
        const v = x[p];
        if (v !== v) return v;
        if (v > m) m = v;
      }
    }
    return m;
  },
  min(x, base, rows, length, stride) {
    let m = Infinity;
    for (let r = 0; r < rows.length; r++) {
      for (let i = 0, p = base + rows[r]; i < length; i++, p += stride) {
        const v = x[p];
        if (v !== v) return v;
        if (v < m) m = v;
      }
    }
    return m;
  },
  // arg-ops return the position of the first extreme (or first NaN) in the block's row-major order.
  argmax(x, base, rows, length, stride) {
    let m = -Infinity;
    let at = 0;
    for (let r = 0; r < rows.length; r++) {
      for (let i = 0, p = base + rows[r]; i < length; i++, p += stride) {
        const v = x[p];
        if (v !== v) return r * length + i;
        if (v > m) {
          m = v;
          at = r * length + i;
        }
      }
    }
    return at;
  },
  argmin(x, base, rows, length, stride) {
    let m = Infinity;
    let at = 0;
    for (let r = 0; r < rows.length; r++) {
      for (let i = 0, p = base + rows[r]; i < length; i++, p += stride) {
        const v = x[p];
        if (v !== v) return r * length + i;
        if (v < m) {
          m = v;
          at = r * length + i;
        }
      }
    }
    return at;
  },
};
