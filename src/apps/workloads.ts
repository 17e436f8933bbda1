/**
 * Speed workloads for `npm run bench`: N training steps of the char-LSTM (embedding 64,
 * 2 layers x 256, batch 32, 64 characters per window) and of the nanoGPT Tiny Shakespeare
 * Transformer (4 layers, 4 heads, 128 dims, block 64, batch 12), on random ids over a 65-character
 * vocabulary (Tiny Shakespeare's). Each returns the seconds the steps took (setup excluded).
 */
import * as flint from "../index.js";
import { Layout } from "../core/layout.js";
import { createCharModel, type CharModelConfig } from "./models.js";
import { createOptimizer, trainStep } from "./train.js";

export const CHAR_LSTM_WORKLOAD: CharModelConfig = { kind: "lstm", vocabSize: 65, embedDim: 64, hiddenSize: 256, numLayers: 2, numHeads: 1, blockSize: 64, dropout: 0 };
export const CHAR_TRANSFORMER_WORKLOAD: CharModelConfig = { kind: "transformer", vocabSize: 65, embedDim: 128, hiddenSize: 128, numLayers: 4, numHeads: 4, blockSize: 64, dropout: 0 };

export interface WorkloadResult {
  steps: number;
  seconds: number;
  stepsPerSecond: number;
  lastLoss: number;
}

function runSteps(config: CharModelConfig, batchSize: number, steps: number, seed: number): WorkloadResult {
  flint.manualSeed(seed);
  const model = createCharModel(config);
  const optimizer = createOptimizer(model, { lr: 1e-3, weightDecay: 0.1, betas: [0.9, 0.99] });
  const generator = new flint.Generator(seed);
  const T = config.blockSize;
  const batch = () => {
    const ids = new Int32Array(batchSize * (T + 1)).map(() => generator.randint(0, config.vocabSize));
    const rows = new flint.Tensor(ids, Layout.contiguous([batchSize, T + 1]), "int32");
    return { input: rows.narrow(1, 0, T).contiguous(), target: rows.narrow(1, 1, T).contiguous() };
  };
  model.train();
  let lastLoss = NaN;
  const started = performance.now();
  for (let i = 0; i < steps; i++) {
    const { input, target } = batch();
    lastLoss = trainStep(model, optimizer, input, target, 1);
  }
  const seconds = (performance.now() - started) / 1000;
  return { steps, seconds, stepsPerSecond: steps / seconds, lastLoss };
}

/** The char-LSTM training step (issue workload: 100 steps). */
export function charLstmSteps(steps = 100, seed = 0): WorkloadResult {
  return runSteps(CHAR_LSTM_WORKLOAD, 32, steps, seed);
}

/** The nanoGPT-recipe Transformer training step. */
export function charTransformerSteps(steps = 100, seed = 0): WorkloadResult {
  return runSteps(CHAR_TRANSFORMER_WORKLOAD, 12, steps, seed);
}
