import { fail, fmtShape } from "../../core/errors.js";
import type { Tensor } from "../../tensor/tensor.js";
import { Module, pyTuple } from "../module.js";

/** Flattens dims startDim..endDim into one (defaults 1 and -1: keeps the batch dim). */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  constructor(options: { startDim?: number; endDim?: number } = {}) {
    super();
    this.startDim = options.startDim ?? 1;
    this.endDim = options.endDim ?? -1;
  }
  forward(input: Tensor): Tensor {
    return input.flatten(this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Expands dim `dim` into `unflattenedSize` (one entry may be -1). */
export class Unflatten extends Module {
  readonly dim: number;
  readonly unflattenedSize: number[];
  constructor(dim: number, unflattenedSize: number[]) {
    super();
    if (!Number.isInteger(dim)) fail("Unflatten", `dim must be an integer, got ${dim}`);
    if (!Array.isArray(unflattenedSize) || unflattenedSize.some((s) => !Number.isInteger(s))) {
      fail("Unflatten", `unflattenedSize must be a list of integers, got ${JSON.stringify(unflattenedSize)}`);
    }
    this.dim = dim;
    this.unflattenedSize = unflattenedSize.slice();
  }
  forward(input: Tensor): Tensor {
    if (input.ndim === 0) fail("Unflatten", `cannot unflatten a 0-d tensor (shape ${fmtShape(input.shape)})`);
    return input.unflatten(this.dim, this.unflattenedSize);
  }
  override extraRepr(): string {
    return `dim=${this.dim}, unflattened_size=${pyTuple(this.unflattenedSize)}`;
  }
}
