import { backend } from "../backend/registry.js";
import { allocate, type DType, type Storage } from "../core/dtype.js";
import { Layout } from "../core/layout.js";
import { numel } from "../core/shape.js";
import { Tensor } from "../tensor/tensor.js";

/**
 * A gradient that covers part of its input, zeros elsewhere, as an op's backward hands it back
 * without writing those zeros: the engine adds it into the input's running gradient sum in place,
 * so a loop over `x.select(1, t)` costs one x-sized gradient in all instead of one per step, and
 * writes a leaf's first one straight into the leaf's gradient buffer (./gradient-buffer.ts).
 */
export abstract class PartialGradient {
  constructor(
    /** The shape of the input the gradient belongs to. */
    readonly shape: readonly number[],
    readonly dtype: DType,
  ) {}

  /** Zeros of `shape` with the gradient added in: a fresh dense tensor, or one over `into` (dense storage of `shape`, overwritten). */
  materialize(into?: Storage): Tensor {
    const sum = this.zeros(into);
    this.addInto(sum);
    return sum;
  }

  /** A dense tensor of zeros of `shape`: fresh, or over `into`. */
  protected zeros(into?: Storage): Tensor {
    const length = numel(this.shape);
    if (into !== undefined) into.fill(0, 0, length);
    return new Tensor(into ?? allocate(this.dtype, length), Layout.contiguous(this.shape), this.dtype);
  }

  /** sum += this gradient, in place, for a `sum` of `shape` and the gradient's dtype. */
  abstract addInto(sum: Tensor): void;
}

/** The gradient a slicing view (select, narrow, slice) hands its base: `grad` belongs in the region that `region` selects. */
export class RegionGradient extends PartialGradient {
  constructor(
    readonly grad: Tensor,
    shape: readonly number[],
    readonly region: (layout: Layout) => Layout,
  ) {
    super(shape, grad.dtype);
  }

  /** Zeros with the gradient written into its region: one assign, no add. */
  override materialize(into?: Storage): Tensor {
    const dense = this.zeros(into);
    backend().assign(dense.storage, this.region(dense.layout), this.grad.storage, this.grad.layout);
    return dense;
  }

  addInto(sum: Tensor): void {
    addAt(sum, this.region(sum.layout), this.grad.storage, this.grad.layout);
  }
}

/** indexSelect's gradient: row i of `grad` (along `dim`) belongs at index[i] of its input; repeated indices add up. */
export class IndexedGradient extends PartialGradient {
  constructor(
    readonly grad: Tensor,
    shape: readonly number[],
    readonly dim: number,
    readonly index: Int32Array,
  ) {
    super(shape, grad.dtype);
  }

  addInto(sum: Tensor): void {
    if (sum.isContiguous()) {
      backend().indexAdd(sum.storage, sum.layout.offset, this.shape, this.dim, this.index, this.grad.storage, this.grad.layout);
      return;
    }
    const dense = this.materialize();
    addAt(sum, sum.layout, dense.storage, dense.layout);
  }
}

/** The elements of `sum` at `at` (a layout over its storage) += `values`: the sum computed aside, then written back. */
function addAt(sum: Tensor, at: Layout, values: Storage, valuesLayout: Layout): void {
  const added = backend().binary("add", sum.storage, at, values, valuesLayout, sum.dtype);
  backend().assign(sum.storage, at, added, Layout.contiguous(at.shape));
}
