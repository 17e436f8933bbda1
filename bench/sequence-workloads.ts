// Sequence-model training steps for `npm run bench` (flint side; the PyTorch side is
// bench/torch_workloads.py's char_lstm_step / transformer_step, with the same modules and step):
// - the char-LSTM: embedding 64, 2-layer LSTM x 256, batch 32, 100 time steps;
// - nanoGPT's CPU recipe for Tiny Shakespeare: 4 pre-norm causal layers, 4 heads, 128 dims,
//   GELU MLP x4, block 64, batch 12.
// Both read 65-character ids (Tiny Shakespeare's vocabulary) and take one AdamW step (nanoGPT's
// grouping: weight decay 0.1 on matrices only, lr 1e-3, betas (0.9, 0.99)); no gradient clipping.
// The models are the ones `flint train charlm` trains (src/apps/models.ts).
import * as flint from "../src/index.js";
import { createCharModel, type CharModelConfig } from "../src/apps/models.js";
import { createOptimizer, trainStep } from "../src/apps/train.js";

const VOCAB = 65;

const CHAR_LSTM: CharModelConfig = { kind: "lstm", vocabSize: VOCAB, embedDim: 64, hiddenSize: 256, numLayers: 2, numHeads: 1, blockSize: 100, dropout: 0 };
const CHAR_TRANSFORMER: CharModelConfig = { kind: "transformer", vocabSize: VOCAB, embedDim: 128, hiddenSize: 128, numLayers: 4, numHeads: 4, blockSize: 64, dropout: 0 };

/** One timed step: forward over the whole window, cross-entropy, backward, AdamW update. */
function charModelStep(config: CharModelConfig, batchSize: number): () => void {
  const model = createCharModel(config);
  model.train();
  const optimizer = createOptimizer(model, { lr: 1e-3, weightDecay: 0.1, betas: [0.9, 0.99] });
  // One fixed random batch, like the other workloads' fixed inputs: the step's cost does not depend on the ids.
  const input = flint.randint(0, VOCAB, [batchSize, config.blockSize]);
  const target = flint.randint(0, VOCAB, [batchSize, config.blockSize]);
  return () => void trainStep(model, optimizer, input, target, 0);
}

export const charLstmStep = (): (() => void) => charModelStep(CHAR_LSTM, 32);
export const transformerStep = (): (() => void) => charModelStep(CHAR_TRANSFORMER, 12);
