/**
 * Mini-batches of tokenized sentences. Training batches group sentences of similar length
 * (sorted within shuffled pools of 50 batches, then the batch order shuffled), which cuts the
 * padding, and so the work, several-fold on SST-2's mostly short phrases while keeping every
 * epoch's batches random.
 */
import * as flint from "../../index.js";
import { padBatch } from "../../text/index.js";

export interface EncodedSet {
  /** Word ids per sentence (possibly empty). */
  ids: number[][];
  labels: number[];
}

export interface SentenceBatch {
  /** [B, T] int32 ids, 0 at padding; T >= 1. */
  ids: flint.Tensor;
  /** Each sentence's real length (0 for an empty sentence). */
  lengths: number[];
  /** [B] int32 labels. */
  labels: flint.Tensor;
}

const POOL_BATCHES = 50;

/** Fisher-Yates with the given generator. */
export function shuffled(n: number, generator: flint.Generator): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = generator.randint(0, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export function makeBatch(set: EncodedSet, indices: readonly number[], maxLen?: number): SentenceBatch {
  const sequences = indices.map((i) => (maxLen === undefined ? set.ids[i] : set.ids[i].slice(0, maxLen)));
  // An all-empty batch still needs one (padding) column.
  const padded = padBatch(sequences, { maxLen: Math.max(1, ...sequences.map((s) => s.length)) });
  return { ids: padded.ids, lengths: padded.lengths, labels: flint.tensor(Int32Array.from(indices, (i) => set.labels[i])) };
}

/** How many batches trainingBatches makes of `size` sentences (a partial batch closes each pool). */
export function trainingBatchCount(size: number, batchSize: number): number {
  const pool = batchSize * POOL_BATCHES;
  return Math.floor(size / pool) * POOL_BATCHES + Math.ceil((size % pool) / batchSize);
}

/** One epoch of length-bucketed, shuffled batches. */
export function trainingBatches(set: EncodedSet, batchSize: number, generator: flint.Generator, maxLen?: number): SentenceBatch[] {
  const order = shuffled(set.ids.length, generator);
  const groups: number[][] = [];
  const pool = batchSize * POOL_BATCHES;
  for (let start = 0; start < order.length; start += pool) {
    const chunk = order.slice(start, start + pool).sort((a, b) => set.ids[a].length - set.ids[b].length);
    for (let b = 0; b < chunk.length; b += batchSize) groups.push(chunk.slice(b, b + batchSize));
  }
  return shuffled(groups.length, generator).map((g) => makeBatch(set, groups[g], maxLen));
}

/** Batches in the set's order (for evaluation); padding does not change a model's outputs. */
export function evaluationBatches(set: EncodedSet, batchSize: number, maxLen?: number): SentenceBatch[] {
  const batches: SentenceBatch[] = [];
  for (let start = 0; start < set.ids.length; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, set.ids.length - start) }, (_, i) => start + i);
    batches.push(makeBatch(set, indices, maxLen));
  }
  return batches;
}
