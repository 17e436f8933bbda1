/**
 * From sentence pairs to tensors: word vocabularies built on the training pairs, source ids
 * (optionally reversed, as Sutskever et al.), target ids ending in <eos>, and padded batches
 * with the decoder's teacher-forcing inputs (<bos> + the target shifted right).
 */
import * as flint from "../../index.js";
import { Vocab, padBatch } from "../../text/index.js";
import type { SentencePair } from "./data.js";

type Tensor = flint.Tensor;

/** Whitespace tokens of a normalised sentence (none for an empty one). */
export function tokens(sentence: string): string[] {
  return sentence.split(" ").filter((t) => t !== "");
}

export interface TranslationVocabs {
  source: Vocab;
  target: Vocab;
}

export function buildVocabs(pairs: readonly SentencePair[]): TranslationVocabs {
  return {
    source: Vocab.build(pairs.map((p) => tokens(p.english))),
    target: Vocab.build(pairs.map((p) => tokens(p.french))),
  };
}

/** Source ids (unknown words -> <unk>), in reading order or reversed. */
export function sourceIds(vocab: Vocab, sentence: string, reverse: boolean): number[] {
  const ids = vocab.encode(tokens(sentence));
  return reverse ? ids.reverse() : ids;
}

/** Target ids followed by <eos>. */
export function targetIds(vocab: Vocab, sentence: string): number[] {
  return [...vocab.encode(tokens(sentence)), vocab.eosIndex];
}

export interface SourceBatch {
  ids: Tensor;
  lengths: number[];
  paddingMask: Tensor;
}

export function sourceBatch(sequences: readonly (readonly number[])[], padIndex: number): SourceBatch {
  const batch = padBatch(sequences, { padValue: padIndex });
  return { ids: batch.ids, lengths: batch.lengths, paddingMask: batch.paddingMask };
}

export interface TrainingBatch {
  source: SourceBatch;
  /** [B, T]: <bos> then the target without its last token. */
  decoderInputs: Tensor;
  /** [B, T]: the target ids, padding = the target vocabulary's <pad> (ignored by the loss). */
  targets: Tensor;
}

export function trainingBatch(pairs: readonly { source: number[]; target: number[] }[], vocabs: TranslationVocabs): TrainingBatch {
  const padTarget = vocabs.target.padIndex;
  return {
    source: sourceBatch(pairs.map((p) => p.source), vocabs.source.padIndex),
    decoderInputs: padBatch(pairs.map((p) => [vocabs.target.bosIndex, ...p.target.slice(0, -1)]), { padValue: padTarget }).ids,
    targets: padBatch(pairs.map((p) => p.target), { padValue: padTarget }).ids,
  };
}
