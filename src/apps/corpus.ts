/**
 * A character corpus for language modelling: the text's sorted distinct characters as the
 * vocabulary (nanoGPT's char mapping, no special tokens), the ids split into a training part and
 * a held-out tail (the last 10% by default), and random [B, T] windows for training.
 */
import * as flint from "../index.js";
import { fail } from "../core/errors.js";
import { Layout } from "../core/layout.js";
import { CharTokenizer, Vocab } from "../text/index.js";

type Tensor = flint.Tensor;

/** A tokenizer whose vocabulary is the text's distinct characters in code-point order. */
export function charTokenizerFor(text: string): CharTokenizer {
  const chars = [...new Set(Array.from(text))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return new CharTokenizer(new Vocab(chars, { specials: [] }));
}

export interface CharCorpus {
  tokenizer: CharTokenizer;
  train: Int32Array;
  val: Int32Array;
}

/** Encodes `text` and holds out its last `valFraction` (default 0.1) for validation. */
export function charCorpus(text: string, options: { valFraction?: number; tokenizer?: CharTokenizer } = {}): CharCorpus {
  const valFraction = options.valFraction ?? 0.1;
  if (!(valFraction > 0 && valFraction < 1)) fail("charCorpus", `valFraction must be in (0, 1), got ${valFraction}`);
  if (text.length < 4) fail("charCorpus", `the text is too short to train on (${text.length} characters)`);
  const tokenizer = options.tokenizer ?? charTokenizerFor(text);
  const ids = Int32Array.from(tokenizer.encode(text));
  const cut = Math.floor(ids.length * (1 - valFraction));
  return { tokenizer, train: ids.subarray(0, cut), val: ids.subarray(cut) };
}

function intTensor(values: Int32Array, shape: number[]): Tensor {
  return new flint.Tensor(values, Layout.contiguous(shape), "int32");
}

/**
 * nanoGPT's get_batch: `batchSize` windows at uniformly random offsets; the target is the input
 * shifted by one character.
 */
export function randomBatch(ids: Int32Array, batchSize: number, blockSize: number, generator: flint.Generator): { input: Tensor; target: Tensor } {
  if (ids.length <= blockSize) fail("randomBatch", `the split has ${ids.length} characters, too few for windows of ${blockSize} + 1`);
  const input = new Int32Array(batchSize * blockSize);
  const target = new Int32Array(batchSize * blockSize);
  for (let b = 0; b < batchSize; b++) {
    const start = generator.randint(0, ids.length - blockSize);
    input.set(ids.subarray(start, start + blockSize), b * blockSize);
    target.set(ids.subarray(start + 1, start + 1 + blockSize), b * blockSize);
  }
  return { input: intTensor(input, [batchSize, blockSize]), target: intTensor(target, [batchSize, blockSize]) };
}

/**
 * Consecutive non-overlapping windows covering `ids` (each predicting its next character), in
 * batches of up to `batchSize` windows; the final partial window is included.
 */
export function* sequentialBatches(ids: Int32Array, batchSize: number, blockSize: number): Generator<{ input: Tensor; target: Tensor }> {
  const predictable = ids.length - 1;
  const starts: number[] = [];
  for (let s = 0; s < predictable; s += blockSize) starts.push(s);
  // Full windows are batched together; the shorter tail window goes alone.
  const full = starts.filter((s) => s + blockSize <= predictable);
  for (let i = 0; i < full.length; i += batchSize) {
    const group = full.slice(i, i + batchSize);
    const input = new Int32Array(group.length * blockSize);
    const target = new Int32Array(group.length * blockSize);
    group.forEach((s, b) => {
      input.set(ids.subarray(s, s + blockSize), b * blockSize);
      target.set(ids.subarray(s + 1, s + 1 + blockSize), b * blockSize);
    });
    yield { input: intTensor(input, [group.length, blockSize]), target: intTensor(target, [group.length, blockSize]) };
  }
  const tail = starts.find((s) => s + blockSize > predictable);
  if (tail !== undefined) {
    const len = predictable - tail;
    yield { input: intTensor(ids.slice(tail, tail + len), [1, len]), target: intTensor(ids.slice(tail + 1, tail + 1 + len), [1, len]) };
  }
}
