/**
 * The character-model training loop (nanoGPT's): random windows, AdamW with weight decay on
 * matrices only, linear warm-up then cosine decay to minLr, gradient clipping at 1, and the
 * validation loss (nats per character) over the held-out split.
 */
import * as flint from "../index.js";
import { fail } from "../core/errors.js";
import { randomBatch, sequentialBatches, type CharCorpus } from "./corpus.js";
import type { CharModel } from "./models.js";

const F = flint.nn.functional;
type Tensor = flint.Tensor;

export interface CharTrainOptions {
  steps: number;
  batchSize: number;
  /** Training window length (at most the Transformer's blockSize). */
  blockSize: number;
  lr: number;
  /** The learning rate the cosine decays to at the last step. */
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  betas: [number, number];
  /** Max global gradient norm (0 disables clipping). */
  gradClip: number;
  /** Seed of the batch sampler (the model's initialisation follows flint.manualSeed). */
  seed: number;
  /**
   * Stop once training has taken this long (seconds). The schedule then follows whichever limit is
   * nearer, so the learning rate has decayed to minLr when time runs out.
   */
  maxSeconds?: number;
  /** Called after every optimizer step. */
  onStep?: (info: StepInfo) => void;
}

export interface StepInfo {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  seconds: number;
  charsPerSecond: number;
}

export interface CharTrainResult {
  stepsRun: number;
  /** Mean training loss over the last 10% of the steps run. */
  trainLoss: number;
  /** The first step's loss (for "the loss went down" checks). */
  firstLoss: number;
  trainSeconds: number;
  charsPerSecond: number;
}

/** nanoGPT's get_lr: linear warm-up over warmupSteps, then cosine from lr to minLr at `steps`. */
export function learningRateAt(step: number, options: Pick<CharTrainOptions, "lr" | "minLr" | "warmupSteps" | "steps">): number {
  const { lr, minLr, warmupSteps, steps } = options;
  if (step < warmupSteps) return (lr * (step + 1)) / (warmupSteps + 1);
  if (step >= steps) return minLr;
  const ratio = (step - warmupSteps) / Math.max(1, steps - warmupSteps);
  return minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (lr - minLr);
}

/** AdamW with nanoGPT's grouping: matrices (weights, embeddings) decay, vectors (biases, norms) do not. */
export function createOptimizer(model: flint.nn.Module, options: Pick<CharTrainOptions, "lr" | "weightDecay" | "betas">): flint.optim.AdamW {
  const params = model.parameters();
  const decay = params.filter((p) => p.ndim >= 2);
  const noDecay = params.filter((p) => p.ndim < 2);
  const groups = [{ params: decay, weightDecay: options.weightDecay }];
  if (noDecay.length > 0) groups.push({ params: noDecay, weightDecay: 0 });
  return new flint.optim.AdamW(groups, { lr: options.lr, betas: options.betas });
}

export function checkTrainOptions(op: string, options: CharTrainOptions): void {
  for (const key of ["steps", "batchSize", "blockSize"] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 1) fail(op, `${key} must be a positive integer, got ${options[key]}`);
  }
  if (!Number.isInteger(options.warmupSteps) || options.warmupSteps < 0) fail(op, `warmupSteps must be a non-negative integer, got ${options.warmupSteps}`);
  if (!(options.lr > 0) || !(options.minLr >= 0)) fail(op, `lr must be positive and minLr non-negative, got lr ${options.lr}, minLr ${options.minLr}`);
  if (!(options.weightDecay >= 0)) fail(op, `weightDecay must be non-negative, got ${options.weightDecay}`);
  if (!(options.gradClip >= 0)) fail(op, `gradClip must be non-negative, got ${options.gradClip}`);
}

/** One optimizer step on a batch: returns the loss value. */
export function trainStep(model: CharModel, optimizer: flint.optim.Optimizer<any>, input: Tensor, target: Tensor, gradClip: number): number {
  const logits = model.step(input)[0];
  const V = logits.shape[2];
  const loss = F.crossEntropy(logits.reshape([-1, V]), target.reshape([-1]));
  optimizer.zeroGrad();
  loss.backward();
  if (gradClip > 0) flint.nn.utils.clipGradNorm(model.parameters(), gradClip);
  optimizer.step();
  return loss.item();
}

export function trainCharModel(model: CharModel, corpus: CharCorpus, options: CharTrainOptions): CharTrainResult {
  checkTrainOptions("trainCharModel", options);
  if (options.blockSize > model.config.blockSize) fail("trainCharModel", `blockSize ${options.blockSize} exceeds the model's blockSize ${model.config.blockSize}`);
  const optimizer = createOptimizer(model, options);
  const generator = new flint.Generator(options.seed);
  model.train();
  const losses: number[] = [];
  const started = performance.now();
  let seconds = 0;
  for (let step = 0; step < options.steps; step++) {
    const timeStep = options.maxSeconds === undefined ? 0 : Math.floor((seconds / options.maxSeconds) * options.steps);
    const lr = learningRateAt(Math.max(step, timeStep), options);
    for (const group of optimizer.paramGroups) group.lr = lr;
    const { input, target } = randomBatch(corpus.train, options.batchSize, options.blockSize, generator);
    losses.push(trainStep(model, optimizer, input, target, options.gradClip));
    seconds = (performance.now() - started) / 1000;
    const charsPerSecond = ((step + 1) * options.batchSize * options.blockSize) / seconds;
    options.onStep?.({ step: step + 1, steps: options.steps, loss: losses[step], lr, seconds, charsPerSecond });
    if (options.maxSeconds !== undefined && seconds >= options.maxSeconds) break;
  }
  const tail = losses.slice(-Math.max(1, Math.ceil(losses.length / 10)));
  return {
    stepsRun: losses.length,
    trainLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
    firstLoss: losses[0],
    trainSeconds: seconds,
    charsPerSecond: (losses.length * options.batchSize * options.blockSize) / seconds,
  };
}

/**
 * Mean cross-entropy (nats per predicted character) over `ids`, read in consecutive windows of
 * blockSize (at most the first maxChars + 1 characters when given), in eval mode without a tape.
 */
export function evaluateLoss(model: CharModel, ids: Int32Array, options: { blockSize: number; batchSize?: number; maxChars?: number }): number {
  const limit = options.maxChars === undefined ? ids : ids.subarray(0, Math.min(ids.length, options.maxChars + 1));
  if (limit.length < 2) fail("evaluateLoss", `need at least 2 characters to evaluate, got ${limit.length}`);
  const wasTraining = model.training;
  model.eval();
  let total = 0;
  let count = 0;
  flint.noGrad(() => {
    for (const { input, target } of sequentialBatches(limit, options.batchSize ?? 32, options.blockSize)) {
      const logits = model.step(input)[0];
      const V = logits.shape[2];
      total += F.crossEntropy(logits.reshape([-1, V]), target.reshape([-1]), { reduction: "sum" }).item();
      count += target.numel();
    }
  });
  model.train(wasTraining);
  return total / count;
}
