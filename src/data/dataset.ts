import { fail } from "../core/errors.js";
import { defaultGenerator, type Generator } from "../core/rng.js";
import { tensor } from "../tensor/creation.js";
import type { Tensor } from "../tensor/tensor.js";

/**
 * A map-style dataset: `length` items, read one at a time with `get(i)` (PyTorch's `__len__` and
 * `__getitem__`). A dataset may also implement `getBatch(indices)` to return a whole collated
 * batch at once; DataLoader uses it (when no custom collate is given) to skip building one small
 * tensor per sample.
 */
export abstract class Dataset<T = unknown> {
  abstract get length(): number;
  abstract get(index: number): T;
  /** Optional fast path: the collated batch for these indices (same result as collating `get(i)`). */
  getBatch?(indices: readonly number[]): unknown;
}

/** Checks an index against a dataset length, allowing Python-style negative indices. */
export function checkIndex(op: string, index: number, length: number): number {
  if (!Number.isInteger(index) || index < -length || index >= length) fail(op, `index ${index} is out of range for a dataset of length ${length}`);
  return index < 0 ? index + length : index;
}

/** Wraps tensors that share their first dimension; item i is the list of their i-th rows. */
export class TensorDataset extends Dataset<Tensor[]> {
  readonly tensors: Tensor[];

  constructor(...tensors: Tensor[]) {
    super();
    if (tensors.length === 0) fail("TensorDataset", "expected at least one tensor");
    const n = tensors[0].ndim === 0 ? -1 : tensors[0].shape[0];
    for (const [i, t] of tensors.entries()) {
      if (t.ndim === 0 || t.shape[0] !== n) {
        fail("TensorDataset", `size mismatch between tensors: tensor 0 has shape [${tensors[0].shape.join(", ")}], tensor ${i} has shape [${t.shape.join(", ")}] (all need the same first dimension)`);
      }
    }
    this.tensors = tensors;
  }

  get length(): number {
    return this.tensors[0].shape[0];
  }

  get(index: number): Tensor[] {
    const i = checkIndex("TensorDataset.get", index, this.length);
    return this.tensors.map((t) => t.select(0, i));
  }

  /** One indexSelect per tensor instead of `batchSize` selects and a stack. */
  override getBatch(indices: readonly number[]): Tensor[] {
    const index = tensor(Int32Array.from(indices, (i) => checkIndex("TensorDataset.getBatch", i, this.length)));
    return this.tensors.map((t) => t.indexSelect(0, index));
  }
}

/** The items of `dataset` at `indices`, in that order. */
export class Subset<T> extends Dataset<T> {
  readonly dataset: Dataset<T>;
  readonly indices: readonly number[];

  constructor(dataset: Dataset<T>, indices: readonly number[]) {
    super();
    for (const i of indices) checkIndex("Subset", i, dataset.length);
    this.dataset = dataset;
    this.indices = indices;
  }

  get length(): number {
    return this.indices.length;
  }

  get(index: number): T {
    return this.dataset.get(this.indices[checkIndex("Subset.get", index, this.length)]);
  }

  override getBatch(indices: readonly number[]): unknown {
    const inner = indices.map((i) => this.indices[checkIndex("Subset.getBatch", i, this.length)]);
    if (this.dataset.getBatch) return this.dataset.getBatch(inner);
    return undefined;
  }
}

/** A Fisher-Yates permutation of 0..n-1 drawn from `generator` (same algorithm as flint.randperm). */
export function permutation(n: number, generator: Generator = defaultGenerator): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = generator.randint(0, i + 1);
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  return order;
}

/**
 * Splits a dataset into non-overlapping random subsets. `lengths` are counts summing to the
 * dataset's length, or fractions summing to 1 (the remainder is dealt round-robin, as PyTorch does).
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: readonly number[], options: { generator?: Generator } = {}): Subset<T>[] {
  const n = dataset.length;
  let counts = lengths.slice();
  const total = lengths.reduce((a, b) => a + b, 0);
  if (lengths.some((l) => !(l >= 0))) fail("randomSplit", `lengths must be non-negative, got [${lengths.join(", ")}]`);
  if (Math.abs(total - 1) < 1e-9 && total !== n) {
    counts = lengths.map((f) => Math.floor(n * f));
    const remainder = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) counts[i % counts.length] += 1;
  } else if (total !== n || lengths.some((l) => !Number.isInteger(l))) {
    fail("randomSplit", `sum of input lengths (${total}) does not equal the length of the input dataset (${n})`);
  }
  const order = permutation(n, options.generator ?? defaultGenerator);
  const subsets: Subset<T>[] = [];
  let start = 0;
  for (const count of counts) {
    subsets.push(new Subset(dataset, order.slice(start, start + count)));
    start += count;
  }
  return subsets;
}
