/**
 * Character-model checkpoints: one safetensors file (written atomically by flint.io.save) holding
 * the model's state dict under PyTorch's keys, and in `__metadata__` the model's hyper-parameters
 * (`config`), the vocabulary (`tokenizer`) and the training settings/results (`training`), so
 * `flint generate` rebuilds the model from the file alone.
 */
import * as flint from "../index.js";
import { fail } from "../core/errors.js";
import { CharTokenizer } from "../text/index.js";
import { createCharModel, isCharModelKind, type CharModel, type CharModelConfig } from "./models.js";

export const CHAR_CHECKPOINT_FORMAT = "flint-charlm/1";

export function saveCharCheckpoint(path: string, model: CharModel, tokenizer: CharTokenizer, training: Record<string, unknown> = {}): void {
  flint.io.save(model.stateDict(), path, {
    format: CHAR_CHECKPOINT_FORMAT,
    config: JSON.stringify(model.config),
    tokenizer: JSON.stringify(tokenizer.toJSON()),
    training: JSON.stringify(training),
  });
}

export interface LoadedCharCheckpoint {
  model: CharModel;
  tokenizer: CharTokenizer;
  training: Record<string, unknown>;
}

export function loadCharCheckpoint(path: string): LoadedCharCheckpoint {
  const op = "loadCharCheckpoint";
  const { tensors, metadata } = flint.io.loadWithMetadata(path);
  if (metadata.format !== CHAR_CHECKPOINT_FORMAT) {
    fail(op, `${path} is not a character-model checkpoint written by flint train charlm/music (format ${JSON.stringify(metadata.format ?? null)}, expected "${CHAR_CHECKPOINT_FORMAT}")`);
  }
  const config = JSON.parse(metadata.config) as CharModelConfig;
  if (!isCharModelKind(config.kind)) fail(op, `${path}: unknown model kind ${JSON.stringify(config.kind)}`);
  const tokenizer = CharTokenizer.fromJSON(metadata.tokenizer);
  if (tokenizer.vocabSize !== config.vocabSize) fail(op, `${path}: the vocabulary has ${tokenizer.vocabSize} characters but the model ${config.vocabSize} outputs`);
  const model = createCharModel(config);
  model.loadStateDict(tensors);
  return { model, tokenizer, training: metadata.training ? JSON.parse(metadata.training) : {} };
}
