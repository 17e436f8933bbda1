/**
 * The training recipe: tutorial pairs, a seeded 95/5 split, vocabularies from the training
 * pairs, Adam (lr 1e-3), batches of 32 in a seeded order, teacher forcing, cross-entropy over
 * the target tokens (padding ignored); evaluation is corpus BLEU-4 on the held-out pairs.
 */
import * as flint from "../../index.js";
import { corpusBleu, type BleuDetails } from "./bleu.js";
import { buildVocabs, sourceIds, targetIds, tokens, trainingBatch, type TranslationVocabs } from "./corpus.js";
import { MAX_TOKENS, SplitRandom, splitPairs, type SentencePair } from "./data.js";
import { beamDecode, greedyDecode, type Decoded } from "./decode.js";
import { Translator } from "./model.js";

export interface TranslateRecipe {
  hidden: number;
  attention: boolean;
  reverseSource: boolean;
  seed: number;
  batchSize: number;
  lr: number;
  dropout: number;
  /** Longest output, in tokens (<eos> included). */
  maxLength: number;
}

export const DEFAULT_RECIPE: TranslateRecipe = { hidden: 256, attention: true, reverseSource: false, seed: 0, batchSize: 32, lr: 1e-3, dropout: 0.1, maxLength: MAX_TOKENS };

export interface PreparedData {
  train: SentencePair[];
  test: SentencePair[];
  vocabs: TranslationVocabs;
}

export function prepareData(pairs: readonly SentencePair[], seed: number): PreparedData {
  const { train, test } = splitPairs(pairs, seed);
  return { train, test, vocabs: buildVocabs(train) };
}

export function createTranslator(recipe: TranslateRecipe, vocabs: TranslationVocabs): Translator {
  flint.manualSeed(recipe.seed);
  return new Translator({ sourceVocabSize: vocabs.source.length, targetVocabSize: vocabs.target.length, hidden: recipe.hidden, attention: recipe.attention, dropout: recipe.dropout });
}

export interface EpochReport {
  epoch: number;
  /** Mean training loss per target token over the epoch. */
  loss: number;
  seconds: number;
}

/** Trains for `epochs` more epochs; `onStep(step, steps, loss)` and `onEpoch` report progress. */
export class TranslationTrainer {
  readonly optimizer: flint.optim.Adam;
  private readonly order: SplitRandom;
  private readonly encoded: { source: number[]; target: number[] }[];
  epochsDone = 0;

  constructor(readonly model: Translator, readonly data: PreparedData, readonly recipe: TranslateRecipe) {
    this.optimizer = new flint.optim.Adam(model.parameters(), { lr: recipe.lr });
    this.order = new SplitRandom(recipe.seed + 1);
    this.encoded = data.train.map((p) => ({ source: sourceIds(data.vocabs.source, p.english, recipe.reverseSource), target: targetIds(data.vocabs.target, p.french) }));
  }

  get stepsPerEpoch(): number {
    return Math.ceil(this.encoded.length / this.recipe.batchSize);
  }

  /** One optimizer step on a batch of encoded pairs; returns the batch's mean loss per target token. */
  trainStep(pairs: readonly { source: number[]; target: number[] }[]): number {
    const { model, optimizer } = this;
    // Longest target first: the decoder then skips the rows whose target has ended (a quarter of
    // its work). The loss is a mean over the same tokens whatever the rows' order.
    const sorted = [...pairs].sort((a, b) => b.target.length - a.target.length);
    const batch = trainingBatch(sorted, this.data.vocabs);
    optimizer.zeroGrad();
    // Logits only where the target is a token: the loss ignores the padding, so leaving it out
    // gives the same loss and gradients for less work.
    const padIndex = this.data.vocabs.target.padIndex;
    const targets = batch.targets.reshape([-1]);
    const tokenPositions = flint.tensor(tokenPositionsOf(targets.data() as Int32Array, padIndex), { dtype: "int32" });
    const targetLengths = sorted.map((p) => p.target.length);
    const logits = model.forwardAt(batch.source.ids, batch.source.lengths, batch.source.paddingMask, batch.decoderInputs, tokenPositions, targetLengths);
    const loss = flint.nn.functional.crossEntropy(logits, targets.indexSelect(0, tokenPositions), { ignoreIndex: padIndex });
    loss.backward();
    optimizer.step();
    return loss.item();
  }

  trainEpoch(onStep?: (step: number, steps: number, loss: number) => void): EpochReport {
    const { model, recipe } = this;
    const started = performance.now();
    model.train();
    const permutation = this.order.permutation(this.encoded.length);
    const steps = this.stepsPerEpoch;
    let lossSum = 0;
    let tokenCount = 0;
    for (let step = 0; step < steps; step++) {
      const pairs = permutation.slice(step * recipe.batchSize, (step + 1) * recipe.batchSize).map((i) => this.encoded[i]);
      const value = this.trainStep(pairs);
      const targetTokens = pairs.reduce((n, p) => n + p.target.length, 0);
      lossSum += value * targetTokens;
      tokenCount += targetTokens;
      onStep?.(step + 1, steps, value);
    }
    this.epochsDone++;
    return { epoch: this.epochsDone, loss: lossSum / tokenCount, seconds: (performance.now() - started) / 1000 };
  }
}

/** The flat positions whose target is not padding. */
function tokenPositionsOf(targets: Int32Array, padIndex: number): number[] {
  const positions: number[] = [];
  targets.forEach((id, i) => {
    if (id !== padIndex) positions.push(i);
  });
  return positions;
}

/** Translates normalised sentences; an empty sentence translates to nothing. */
export function translateSentences(model: Translator, sentences: readonly string[], vocabs: TranslationVocabs, recipe: Pick<TranslateRecipe, "reverseSource" | "maxLength">, beam = 1): Decoded[] {
  const sources = sentences.map((s) => sourceIds(vocabs.source, s, recipe.reverseSource));
  const results: Decoded[] = sources.map(() => ({ ids: [], attention: [] }));
  const nonEmpty = sources.map((s, i) => [s, i] as const).filter(([s]) => s.length > 0);
  if (nonEmpty.length === 0) return results;
  if (beam > 1) {
    for (const [s, i] of nonEmpty) results[i] = beamDecode(model, s, vocabs.source, vocabs.target, recipe.maxLength, beam);
  } else {
    const decoded = greedyDecode(model, nonEmpty.map(([s]) => s), vocabs.source, vocabs.target, recipe.maxLength);
    nonEmpty.forEach(([, i], k) => (results[i] = decoded[k]));
  }
  return results;
}

export interface BleuReport extends BleuDetails {
  hypotheses: string[];
}

/** Corpus BLEU-4 of the model's translations of `pairs` (greedy, or beam search with beam > 1). */
export function evaluateBleu(model: Translator, pairs: readonly SentencePair[], vocabs: TranslationVocabs, recipe: Pick<TranslateRecipe, "reverseSource" | "maxLength">, beam = 1): BleuReport {
  const decoded = translateSentences(model, pairs.map((p) => p.english), vocabs, recipe, beam);
  const hypotheses = decoded.map((d) => vocabs.target.decode(d.ids));
  const details = corpusBleu(hypotheses, pairs.map((p) => tokens(p.french)));
  return { ...details, hypotheses: hypotheses.map((h) => h.join(" ")) };
}
