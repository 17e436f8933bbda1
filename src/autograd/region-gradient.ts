import { backend } from "../backend/registry.js";
import { allocate } from "../core/dtype.js";
import { Layout } from "../core/layout.js";
import { numel } from "../core/shape.js";
import { Tensor } from "../tensor/tensor.js";

/**
 * The gradient a slicing view (select, narrow, slice) hands its base: `grad` belongs in the
 * region that `region` selects of a tensor of `shape`, zeros elsewhere. The engine adds it into
 * the base's running gradient sum in place, so a loop over `x.select(1, t)` costs one
 * x-sized gradient in all instead of one per step.
 */
export class RegionGradient {
  constructor(
    readonly grad: Tensor,
    readonly shape: readonly number[],
    readonly region: (layout: Layout) => Layout,
  ) {}

  /** Zeros of `shape` with the gradient written into its region: a fresh dense tensor. */
  materialize(): Tensor {
    const storage = allocate(this.grad.dtype, numel(this.shape));
    const layout = Layout.contiguous(this.shape);
    backend().assign(storage, this.region(layout), this.grad.storage, this.grad.layout);
    return new Tensor(storage, layout, this.grad.dtype);
  }

  /** sum[region] += grad, in place, for a `sum` of `shape` and the gradient's dtype (any layout). */
  addInto(sum: Tensor): void {
    const region = this.region(sum.layout);
    const added = backend().binary("add", sum.storage, region, this.grad.storage, this.grad.layout, sum.dtype);
    backend().assign(sum.storage, region, added, Layout.contiguous(region.shape));
  }
}
