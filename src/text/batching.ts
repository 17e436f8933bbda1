/**
 * Turning token ids into tensors: padding variable-length sequences to a batch (with masks and
 * lengths for nn.RNN's `{ lengths }` or nn.MultiheadAttention's keyPaddingMask), and cutting a
 * token stream into [batch, seq] chunks for language modelling.
 */
import { fail } from "../core/errors.js";
import { Layout } from "../core/layout.js";
import { Tensor } from "../tensor/tensor.js";

function intTensor(values: Int32Array, shape: number[]): Tensor {
  return new Tensor(values, Layout.contiguous(shape), "int32");
}

export interface PadBatchOptions {
  /** The id written in padded positions (default 0, <pad> in a default Vocab). */
  padValue?: number;
  /** Pad (and truncate) to this length instead of the longest sequence. */
  maxLen?: number;
}

export interface PaddedBatch {
  /** [B, T] int32 ids. */
  ids: Tensor;
  /** [B, T] bool, True at real tokens. */
  mask: Tensor;
  /** [B, T] bool, True at padding: the keyPaddingMask of nn.MultiheadAttention / Transformer. */
  paddingMask: Tensor;
  /** Each sequence's length after truncation (the `lengths` option of nn.RNN / GRU / LSTM). */
  lengths: number[];
}

/** Pads sequences of ids to one [B, T] batch. */
export function padBatch(sequences: readonly (readonly number[])[], options: PadBatchOptions = {}): PaddedBatch {
  if (sequences.length === 0) fail("padBatch", "expected at least one sequence");
  const padValue = options.padValue ?? 0;
  const longest = Math.max(...sequences.map((s) => s.length));
  const T = options.maxLen ?? longest;
  if (!Number.isInteger(T) || T < 0) fail("padBatch", `maxLen must be a non-negative integer, got ${options.maxLen}`);
  const B = sequences.length;
  const ids = new Int32Array(B * T).fill(padValue);
  const mask = new Uint8Array(B * T);
  const lengths = sequences.map((seq, b) => {
    const n = Math.min(seq.length, T);
    for (let t = 0; t < n; t++) {
      if (!Number.isInteger(seq[t])) fail("padBatch", `ids must be integers, got ${seq[t]} in sequence ${b}`);
      ids[b * T + t] = seq[t];
      mask[b * T + t] = 1;
    }
    return n;
  });
  const maskTensor = new Tensor(mask, Layout.contiguous([B, T]), "bool");
  return { ids: intTensor(ids, [B, T]), mask: maskTensor, paddingMask: maskTensor.logicalNot(), lengths };
}

/** A token stream cut into batchSize equal rows: [batchSize, floor(n / batchSize)]; the rest is dropped. */
export function batchify(ids: readonly number[] | Tensor, batchSize: number): Tensor {
  const flat = ids instanceof Tensor ? Int32Array.from(ids.data() as ArrayLike<number>) : Int32Array.from(ids);
  if (!Number.isInteger(batchSize) || batchSize < 1) fail("batchify", `batchSize must be a positive integer, got ${batchSize}`);
  const steps = Math.floor(flat.length / batchSize);
  if (steps === 0) fail("batchify", `a stream of ${flat.length} tokens is too short for ${batchSize} rows`);
  return intTensor(flat.slice(0, steps * batchSize), [batchSize, steps]);
}

export interface LanguageModelBatch {
  /** [B, L] ids. */
  input: Tensor;
  /** [B, L] the next token of each input position. */
  target: Tensor;
}

/**
 * Consecutive (input, target) windows of a batchified stream: the stream is cut into batchSize
 * rows, then read seqLen steps at a time; target is input shifted by one token (the last window
 * may be shorter). Rows continue from one window to the next, for truncated BPTT.
 */
export function* languageModelBatches(ids: readonly number[] | Tensor, batchSize: number, seqLen: number): Generator<LanguageModelBatch> {
  if (!Number.isInteger(seqLen) || seqLen < 1) fail("languageModelBatches", `seqLen must be a positive integer, got ${seqLen}`);
  const rows = batchify(ids, batchSize);
  const steps = rows.shape[1];
  for (let start = 0; start + 1 < steps; start += seqLen) {
    const len = Math.min(seqLen, steps - 1 - start);
    yield { input: rows.narrow(1, start, len).contiguous(), target: rows.narrow(1, start + 1, len).contiguous() };
  }
}
