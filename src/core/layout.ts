import { contiguousStrides, numel, type Shape } from "./shape.js";

/**
 * How a tensor's elements sit in its storage: element [i0, i1, ...] lives at
 * offset + i0*strides[0] + i1*strides[1] + .... Views (transpose, narrow, expand, ...) are new
 * layouts over the same storage, so they cost nothing. Strides may be 0 (expand) or negative (flip).
 */
export class Layout {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly size: number;

  constructor(shape: Shape, strides?: readonly number[], offset = 0) {
    this.shape = shape.slice();
    this.strides = strides ? strides.slice() : contiguousStrides(shape);
    this.offset = offset;
    this.size = numel(shape);
  }

  static contiguous(shape: Shape): Layout {
    return new Layout(shape);
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** True when the elements are exactly storage[offset .. offset+size) in row-major order. */
  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== expected) return false;
      expected *= this.shape[i];
    }
    return true;
  }

  permute(order: readonly number[]): Layout {
    return new Layout(order.map((d) => this.shape[d]), order.map((d) => this.strides[d]), this.offset);
  }

  transpose(d0: number, d1: number): Layout {
    const order = this.shape.map((_, i) => i);
    order[d0] = d1;
    order[d1] = d0;
    return this.permute(order);
  }

  narrow(dim: number, start: number, length: number): Layout {
    const shape = this.shape.slice();
    shape[dim] = length;
    return new Layout(shape, this.strides, this.offset + start * this.strides[dim]);
  }

  /** A strided slice along one dim: indices start, start+step, ... (count of them). */
  slice(dim: number, start: number, count: number, step: number): Layout {
    const shape = this.shape.slice();
    const strides = this.strides.slice();
    shape[dim] = count;
    strides[dim] = this.strides[dim] * step;
    return new Layout(shape, strides, this.offset + start * this.strides[dim]);
  }

  select(dim: number, index: number): Layout {
    const shape = this.shape.slice();
    const strides = this.strides.slice();
    shape.splice(dim, 1);
    strides.splice(dim, 1);
    return new Layout(shape, strides, this.offset + index * this.strides[dim]);
  }

  unsqueeze(dim: number): Layout {
    const shape = this.shape.slice();
    const strides = this.strides.slice();
    const stride = dim < this.shape.length ? this.shape[dim] * this.strides[dim] : 1;
    shape.splice(dim, 0, 1);
    strides.splice(dim, 0, stride);
    return new Layout(shape, strides, this.offset);
  }

  squeeze(dims: readonly number[]): Layout {
    const shape: number[] = [];
    const strides: number[] = [];
    for (let i = 0; i < this.shape.length; i++) {
      if (dims.includes(i) && this.shape[i] === 1) continue;
      shape.push(this.shape[i]);
      strides.push(this.strides[i]);
    }
    return new Layout(shape, strides, this.offset);
  }

  /** Broadcast to `shape` (already validated): new leading dims and size-1 dims get stride 0. */
  expand(shape: Shape): Layout {
    const lead = shape.length - this.shape.length;
    const strides = shape.map((d, i) => {
      if (i < lead) return 0;
      const own = this.shape[i - lead];
      return own === d ? this.strides[i - lead] : 0;
    });
    return new Layout(shape, strides, this.offset);
  }

  flip(dims: readonly number[]): Layout {
    let offset = this.offset;
    const strides = this.strides.slice();
    for (const d of dims) {
      if (this.shape[d] > 0) offset += (this.shape[d] - 1) * this.strides[d];
      strides[d] = -strides[d];
    }
    return new Layout(this.shape, strides, offset);
  }

  /**
   * The layout of `reshape(shape)` as a view, or null when the data would have to move.
   * PyTorch's rule: walk old dims from the right in chunks whose strides chain, and fit the new
   * dims into each chunk.
   */
  view(shape: Shape): Layout | null {
    if (this.isContiguous() || this.size === 0 || this.shape.length === 0) return new Layout(shape, undefined, this.offset);
    const newStrides = new Array<number>(shape.length).fill(1);
    let viewD = shape.length - 1;
    let chunkBaseStride = this.strides[this.strides.length - 1];
    let tensorNumel = 1;
    let viewNumel = 1;
    for (let d = this.shape.length - 1; d >= 0; d--) {
      tensorNumel *= this.shape[d];
      const chunkEnds = d === 0 || (this.shape[d - 1] !== 1 && this.strides[d - 1] !== tensorNumel * chunkBaseStride);
      if (!chunkEnds) continue;
      while (viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBaseStride;
        viewNumel *= shape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBaseStride = this.strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
    if (viewD !== -1) return null;
    return new Layout(shape, newStrides, this.offset);
  }
}
