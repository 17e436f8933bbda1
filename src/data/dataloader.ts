import { fail } from "../core/errors.js";
import { defaultGenerator, type Generator } from "../core/rng.js";
import { defaultCollate } from "./collate.js";
import { permutation, type Dataset } from "./dataset.js";

export interface DataLoaderOptions<T, B> {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Reshuffle the order at the start of every epoch (default false). */
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Turns a list of samples into a batch; defaults to defaultCollate (or the dataset's getBatch). */
  collate?: (samples: T[]) => B;
  /** The random source for shuffling; defaults to the global generator (flint.manualSeed). */
  generator?: Generator;
}

/**
 * Iterates over a dataset in batches: `for (const [x, y] of loader) ...`. Each iteration (epoch)
 * draws a fresh order when `shuffle` is set. Without a custom `collate`, a dataset that has
 * `getBatch(indices)` builds each batch in one go (the fast path for in-memory datasets).
 */
export class DataLoader<T = unknown, B = any> implements Iterable<B> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator;
  private readonly collate: ((samples: T[]) => B) | undefined;

  constructor(dataset: Dataset<T>, options: DataLoaderOptions<T, B> = {}) {
    const batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) fail("DataLoader", `batchSize should be a positive integer, got ${batchSize}`);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.generator = options.generator ?? defaultGenerator;
    this.collate = options.collate;
  }

  /** The number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample indices of one epoch, split into batches (draws from the generator when shuffling). */
  batchIndices(): number[][] {
    const n = this.dataset.length;
    const order = this.shuffle ? permutation(n, this.generator) : Array.from({ length: n }, (_, i) => i);
    const batches: number[][] = [];
    for (let start = 0; start < n; start += this.batchSize) {
      const batch = order.slice(start, start + this.batchSize);
      if (batch.length < this.batchSize && this.dropLast) break;
      batches.push(batch);
    }
    return batches;
  }

  /** The batch for these sample indices. */
  fetch(indices: readonly number[]): B {
    if (this.collate) return this.collate(indices.map((i) => this.dataset.get(i)));
    const fast = this.dataset.getBatch?.(indices);
    if (fast !== undefined) return fast as B;
    return defaultCollate(indices.map((i) => this.dataset.get(i))) as B;
  }

  *[Symbol.iterator](): Iterator<B> {
    for (const indices of this.batchIndices()) yield this.fetch(indices);
  }
}
