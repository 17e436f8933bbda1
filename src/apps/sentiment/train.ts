/**
 * The sentiment recipe: word tokens (vocabulary from the training sentences only), length-bucketed
 * padded batches, Adam, cross-entropy, optionally a moving average of the weights; model selection
 * (early stopping) on a held-out slice of the training data, never on dev; dev accuracy is measured
 * once, with the selected weights.
 */
import * as flint from "../../index.js";
import { fail } from "../../core/errors.js";
import { WordTokenizer } from "../../text/index.js";
import { ParameterAverage } from "./averaging.js";
import { evaluationBatches, shuffled, trainingBatchCount, trainingBatches, type EncodedSet } from "./batches.js";
import type { SentimentClassifier } from "./checkpoint.js";
import type { LabelledSentences, SentimentSplits } from "./data.js";
import { createSentimentModel, defaultSentimentConfig, TRANSFORMER_MAX_TOKENS, type SentimentModel, type SentimentModelConfig, type SentimentModelKind } from "./models.js";

const F = flint.nn.functional;

export interface SentimentTrainSettings {
  model: SentimentModelKind;
  /** Most epochs to run; training stops earlier after `patience` epochs without a better validation accuracy. */
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Share of the training sentences held out for model selection (default 0.05). */
  validFraction: number;
  /** Words seen fewer times in training map to <unk> (default 2, so <unk> is learned). */
  minFreq: number;
  /** Sentences are cut to this many tokens (default 128). */
  maxLen: number;
  patience: number;
  /**
   * Horizon, in epochs, of an exponential moving average of the weights (0: off): the decay is
   * 1 - 1 / (averageEpochs * steps per epoch), 0.999 for SST-2's 1,000 steps at averageEpochs 1.
   * When on, validation, model selection, dev and the checkpoint use the averaged weights.
   */
  averageEpochs: number;
  /** Overrides of the model's default sizes (tests use tiny models). */
  modelOverrides?: Partial<Omit<SentimentModelConfig, "kind" | "vocabSize" | "numClasses">>;
}

/**
 * Adam learning rate per model: the BiLSTM reference's 2e-3; 1e-3 for the CNN (SST-2 dev 0.833
 * after 2 epochs in PyTorch, against 0.828 with 2e-3); a gentler 5e-4 for attention.
 */
export function defaultLearningRate(kind: SentimentModelKind): number {
  return kind === "cnn" ? 1e-3 : kind === "transformer" ? 5e-4 : 2e-3;
}

/**
 * Weight averaging is off by default: on SST-2 the CNN's 3-epoch averaged weights (one-epoch
 * horizon) scored dev 0.812 / 0.810 / 0.836 / 0.822 (seeds 0-3) against 0.823 / 0.810 / 0.830 /
 * 0.814 for the 2-epoch raw weights: no measurable gain for 1.5x the training time.
 */
export function defaultAverageEpochs(_kind: SentimentModelKind): number {
  return 0;
}

/** Epochs per model (early stopping may end sooner). */
export function defaultEpochs(_kind: SentimentModelKind): number {
  return 2;
}

export function defaultTrainSettings(model: SentimentModelKind): SentimentTrainSettings {
  return { model, epochs: defaultEpochs(model), batchSize: 64, lr: defaultLearningRate(model), seed: 0, validFraction: 0.05, minFreq: 2, maxLen: 128, patience: 2, averageEpochs: defaultAverageEpochs(model) };
}

export interface EpochReport {
  epoch: number;
  trainLoss: number;
  validAccuracy: number;
  seconds: number;
  samplesPerSecond: number;
  best: boolean;
}

export interface TrainingHooks {
  onStart?(info: { train: number; valid: number; dev: number; vocabSize: number; parameters: number }): void;
  onStep?(epoch: number, step: number, steps: number, loss: number, samplesPerSecond: number, secondsLeft: number): void;
  onEpoch?(report: EpochReport): void;
}

export interface SentimentTrainResult {
  classifier: SentimentClassifier;
  devAccuracy: number;
  devLoss: number;
  validAccuracy: number;
  bestEpoch: number;
  epochsRun: number;
  trainSeconds: number;
  trainSamples: number;
  validSamples: number;
  devSamples: number;
  vocabSize: number;
}

/** The independent random streams of one training run. */
const RANDOM_STREAMS = { split: 1, model: 2, shuffle: 3 } as const;
export type RandomStream = keyof typeof RANDOM_STREAMS;

/**
 * The seed of one stream of run `seed`. Seeding every stream with `seed` itself made the split's
 * uniforms the very ones the embedding init drew, and seeding the shuffle with `seed + 1` made
 * run s's batch order replay run s + 1's split: runs with nearby seeds were not independent. A
 * hash of (seed, stream) gives streams that share nothing within or across runs.
 */
export function streamSeed(seed: number, stream: RandomStream): number {
  let h = Math.imul((Math.trunc(seed) >>> 0) ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(RANDOM_STREAMS[stream], 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

function encode(tokenizer: WordTokenizer, set: LabelledSentences, maxLen: number): EncodedSet {
  return { ids: set.sentences.map((s) => tokenizer.encode(s).slice(0, maxLen)), labels: set.labels.slice() };
}

function subset(set: LabelledSentences, indices: readonly number[]): LabelledSentences {
  return { sentences: indices.map((i) => set.sentences[i]), labels: indices.map((i) => set.labels[i]) };
}

/** Accuracy and mean cross-entropy of `model` on `set`, in eval mode without gradients. */
export function evaluateSentiment(model: SentimentModel, set: EncodedSet, batchSize = 256): { accuracy: number; loss: number } {
  if (set.ids.length === 0) return { accuracy: NaN, loss: NaN };
  const wasTraining = model.training;
  model.eval();
  let correct = 0;
  let lossSum = 0;
  flint.noGrad(() => {
    for (const batch of evaluationBatches(set, batchSize)) {
      const logits = model.forward(batch.ids, batch.lengths);
      lossSum += F.crossEntropy(logits, batch.labels, { reduction: "sum" }).item();
      correct += logits.argmax(1).eq(batch.labels).sum().item();
    }
  });
  model.train(wasTraining);
  return { accuracy: correct / set.ids.length, loss: lossSum / set.ids.length };
}

function snapshot(model: SentimentModel): Record<string, flint.Tensor> {
  return Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, t.detach().clone()]));
}

function checkSettings(s: SentimentTrainSettings): void {
  const op = "train sentiment";
  if (!Number.isInteger(s.epochs) || s.epochs < 1) fail(op, `--epochs must be at least 1, got ${s.epochs}`);
  if (!Number.isInteger(s.batchSize) || s.batchSize < 1) fail(op, `--batch-size must be at least 1, got ${s.batchSize}`);
  if (!(s.lr > 0)) fail(op, `--lr must be positive, got ${s.lr}`);
  if (!(s.validFraction > 0 && s.validFraction < 1)) fail(op, `--valid-fraction must be in (0, 1), got ${s.validFraction}`);
  if (!Number.isInteger(s.minFreq) || s.minFreq < 1) fail(op, `--min-freq must be at least 1, got ${s.minFreq}`);
  if (!Number.isInteger(s.maxLen) || s.maxLen < 1) fail(op, `--max-len must be at least 1, got ${s.maxLen}`);
  if (s.model === "transformer" && s.maxLen > TRANSFORMER_MAX_TOKENS) fail(op, `--max-len ${s.maxLen} exceeds the transformer's ${TRANSFORMER_MAX_TOKENS} positions`);
  if (!Number.isInteger(s.patience) || s.patience < 1) fail(op, `--patience must be at least 1, got ${s.patience}`);
  if (!(s.averageEpochs >= 0 && Number.isFinite(s.averageEpochs))) fail(op, `--average-epochs must be 0 (off) or positive, got ${s.averageEpochs}`);
}

export function trainSentiment(splits: SentimentSplits, settings: SentimentTrainSettings, hooks: TrainingHooks = {}): SentimentTrainResult {
  checkSettings(settings);
  const total = splits.train.sentences.length;
  const validCount = Math.max(1, Math.round(total * settings.validFraction));
  if (total - validCount < 1) fail("train sentiment", `${total} training sentences are too few to hold out a validation slice`);
  // The validation slice: a seeded random sample of the training rows.
  const order = shuffled(total, new flint.Generator(streamSeed(settings.seed, "split")));
  const fitPart = subset(splits.train, order.slice(validCount).sort((a, b) => a - b));
  const validPart = subset(splits.train, order.slice(0, validCount).sort((a, b) => a - b));

  const tokenizer = WordTokenizer.fit(fitPart.sentences, { minFreq: settings.minFreq });
  const fitSet = encode(tokenizer, fitPart, settings.maxLen);
  const validSet = encode(tokenizer, validPart, settings.maxLen);
  const devSet = encode(tokenizer, splits.dev, settings.maxLen);

  // Initialisation and dropout draw from the global generator, on a stream of their own.
  flint.manualSeed(streamSeed(settings.seed, "model"));
  const config = { ...defaultSentimentConfig(settings.model, tokenizer.vocabSize, splits.labelNames.length), ...settings.modelOverrides };
  const model = createSentimentModel(config);
  const optimizer = new flint.optim.Adam(model.parameters(), { lr: settings.lr });
  const averageDecay = settings.averageEpochs > 0 ? 1 - 1 / Math.max(1, settings.averageEpochs * trainingBatchCount(fitSet.ids.length, settings.batchSize)) : 0;
  const average = averageDecay > 0 ? new ParameterAverage(model.parameters(), averageDecay) : null;
  // The weights that are validated, selected and returned: the average when there is one.
  const selected = <T>(fn: () => T): T => (average ? average.withAverage(fn) : fn());
  const shuffleGenerator = new flint.Generator(streamSeed(settings.seed, "shuffle"));
  const parameterCount = model.parameters().reduce((n, p) => n + p.numel(), 0);
  hooks.onStart?.({ train: fitSet.ids.length, valid: validSet.ids.length, dev: devSet.ids.length, vocabSize: tokenizer.vocabSize, parameters: parameterCount });

  let best = { accuracy: -1, epoch: 0, state: snapshot(model) };
  let trainSeconds = 0;
  let epochsRun = 0;
  for (let epoch = 1; epoch <= settings.epochs; epoch++) {
    model.train();
    const batches = trainingBatches(fitSet, settings.batchSize, shuffleGenerator);
    const started = performance.now();
    let seen = 0;
    let lossSum = 0;
    batches.forEach((batch, i) => {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(batch.ids, batch.lengths), batch.labels);
      loss.backward();
      flint.nn.utils.clipGradNorm(model.parameters(), 5);
      optimizer.step();
      average?.update();
      const n = batch.lengths.length;
      seen += n;
      lossSum += loss.item() * n;
      const rate = seen / ((performance.now() - started) / 1000);
      hooks.onStep?.(epoch, i + 1, batches.length, lossSum / seen, rate, (fitSet.ids.length - seen) / rate);
    });
    const seconds = (performance.now() - started) / 1000;
    trainSeconds += seconds;
    epochsRun = epoch;
    const { accuracy } = selected(() => evaluateSentiment(model, validSet));
    const improved = accuracy > best.accuracy;
    if (improved) best = { accuracy, epoch, state: selected(() => snapshot(model)) };
    hooks.onEpoch?.({ epoch, trainLoss: lossSum / seen, validAccuracy: accuracy, seconds, samplesPerSecond: seen / seconds, best: improved });
    if (epoch - best.epoch >= settings.patience) break;
  }
  model.loadStateDict(best.state);
  model.eval();
  const dev = evaluateSentiment(model, devSet);
  return {
    classifier: { model, tokenizer, labelNames: splits.labelNames.slice() },
    devAccuracy: dev.accuracy,
    devLoss: dev.loss,
    validAccuracy: best.accuracy,
    bestEpoch: best.epoch,
    epochsRun,
    trainSeconds,
    trainSamples: fitSet.ids.length,
    validSamples: validSet.ids.length,
    devSamples: devSet.ids.length,
    vocabSize: tokenizer.vocabSize,
  };
}
