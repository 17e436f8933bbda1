/**
 * Default hyper-parameters. The Transformer's are nanoGPT's CPU recipe for Tiny Shakespeare
 * (4 layers, 4 heads, 128 dims, block 64, batch 12, AdamW lr 1e-3 betas (0.9, 0.99) weight
 * decay 0.1, 100 warm-up steps then cosine to 1e-4, 2000 steps, no dropout). The recurrent
 * models' are the issue's char-LSTM (embedding 64, 2 layers x 256, batch 32) with the same
 * optimizer and schedule at lr 2e-3. The music recipe is a small LSTM sized to train on ABC tunes
 * within minutes on a 2-core machine; `flint train music` also caps training at 10 minutes
 * (the schedule then decays over the time available).
 */
import type { CharModelConfig, CharModelKind } from "./models.js";
import type { CharTrainOptions } from "./train.js";

export type ModelShape = Omit<CharModelConfig, "vocabSize">;
export type TrainSettings = Omit<CharTrainOptions, "onStep" | "maxSeconds" | "seed">;
export interface CharRecipe {
  model: ModelShape;
  train: TrainSettings;
}

const optimizer = { weightDecay: 0.1, betas: [0.9, 0.99] as [number, number], gradClip: 1 };

export function charlmRecipe(kind: CharModelKind): CharRecipe {
  if (kind === "transformer") {
    return {
      model: { kind, embedDim: 128, hiddenSize: 128, numLayers: 4, numHeads: 4, blockSize: 64, dropout: 0 },
      train: { steps: 2000, batchSize: 12, blockSize: 64, lr: 1e-3, minLr: 1e-4, warmupSteps: 100, ...optimizer },
    };
  }
  return {
    model: { kind, embedDim: 64, hiddenSize: 256, numLayers: 2, numHeads: 1, blockSize: 64, dropout: 0 },
    train: { steps: 2000, batchSize: 32, blockSize: 64, lr: 2e-3, minLr: 2e-4, warmupSteps: 100, ...optimizer },
  };
}

export function musicRecipe(kind: CharModelKind): CharRecipe {
  if (kind === "transformer") {
    return {
      model: { kind, embedDim: 64, hiddenSize: 64, numLayers: 2, numHeads: 4, blockSize: 64, dropout: 0 },
      train: { steps: 1500, batchSize: 16, blockSize: 64, lr: 2e-3, minLr: 2e-4, warmupSteps: 50, ...optimizer },
    };
  }
  return {
    model: { kind, embedDim: 32, hiddenSize: 128, numLayers: 1, numHeads: 1, blockSize: 64, dropout: 0 },
    train: { steps: 3000, batchSize: 16, blockSize: 64, lr: 5e-3, minLr: 5e-4, warmupSteps: 50, ...optimizer },
  };
}
