import { allocate, dtypeOfStorage, type Storage } from "../../core/dtype.js";
import { Layout } from "../../core/layout.js";
import { numel } from "../../core/shape.js";
import { copy } from "./elementwise.js";

/** Splits a contiguous shape around `dim` into (outer, size, inner) extents. */
function around(shape: readonly number[], dim: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < dim; i++) outer *= shape[i];
  for (let i = dim + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[dim], inner];
}

function contiguousData(x: Storage, xl: Layout): Storage {
  return xl.isContiguous() && xl.offset === 0 && x.length === xl.size ? x : copy(x, xl, dtypeOfStorage(x));
}

export function indexSelect(x: Storage, xl: Layout, dim: number, index: Int32Array): Storage {
  const src = contiguousData(x, xl);
  const [outer, size, inner] = around(xl.shape, dim);
  const out = allocate(dtypeOfStorage(x), outer * index.length * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < index.length; i++) {
      const from = (o * size + index[i]) * inner;
      out.set(src.subarray(from, from + inner) as never, (o * index.length + i) * inner);
    }
  }
  return out;
}

/** dst[.., index[i], ..] += src[.., i, ..] along `dim`, in place, for dense `dst` of `dstShape` from element `dstOffset`. */
export function indexAdd(dst: Storage, dstOffset: number, dstShape: readonly number[], dim: number, index: Int32Array, src: Storage, srcLayout: Layout): void {
  const values = contiguousData(src, srcLayout);
  const [outer, size, inner] = around(dstShape, dim);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < index.length; i++) {
      const to = dstOffset + (o * size + index[i]) * inner;
      const from = (o * index.length + i) * inner;
      for (let j = 0; j < inner; j++) dst[to + j] += values[from + j];
    }
  }
}

/** Calls `visit(flatIndexPosition, indexValue, position)` for each element of the index tensor, where
 * `position` is the row-major offset the element would have in a contiguous tensor of `targetShape`
 * with the indexed dim replaced by `indexValue`. */
function forEachIndexed(index: Storage, il: Layout, dim: number, targetShape: readonly number[], visit: (i: number, position: number) => void): void {
  const idx = contiguousData(index, il);
  const shape = il.shape;
  const nd = shape.length;
  const targetStrides = new Layout(targetShape).strides;
  const coord = new Array<number>(nd).fill(0);
  for (let i = 0; i < idx.length; i++) {
    let position = 0;
    for (let d = 0; d < nd; d++) position += (d === dim ? idx[i] : coord[d]) * targetStrides[d];
    visit(i, position);
    for (let d = nd - 1; d >= 0; d--) {
      if (++coord[d] < shape[d]) break;
      coord[d] = 0;
    }
  }
}

export function gather(x: Storage, xl: Layout, dim: number, index: Storage, il: Layout): Storage {
  const src = contiguousData(x, xl);
  const out = allocate(dtypeOfStorage(x), il.size);
  forEachIndexed(index, il, dim, xl.shape, (i, position) => {
    out[i] = src[position];
  });
  return out;
}

export function scatter(dst: Storage, dstShape: readonly number[], dim: number, index: Storage, il: Layout, src: Storage, sl: Layout, accumulate: boolean): void {
  // src may be larger than index (PyTorch reads src at the index's coordinates).
  const values = copy(src, new Layout(il.shape, sl.strides, sl.offset), dtypeOfStorage(dst));
  forEachIndexed(index, il, dim, dstShape, (i, position) => {
    if (accumulate) dst[position] += values[i];
    else dst[position] = values[i];
  });
}
