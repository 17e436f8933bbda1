/**
 * Sentiment checkpoints: one safetensors file (written atomically by flint.io.save) with the
 * model's state dict under PyTorch's keys and, in `__metadata__`, the model config, the word
 * tokenizer (settings + vocabulary), the class names and the training summary, so
 * `flint classify` rebuilds everything from the file alone.
 */
import * as flint from "../../index.js";
import { fail } from "../../core/errors.js";
import { WordTokenizer } from "../../text/index.js";
import { createSentimentModel, isSentimentModelKind, type SentimentModel, type SentimentModelConfig } from "./models.js";

export const SENTIMENT_CHECKPOINT_FORMAT = "flint-sentiment/1";

export interface SentimentClassifier {
  model: SentimentModel;
  tokenizer: WordTokenizer;
  labelNames: string[];
}

export function saveSentimentCheckpoint(file: string, classifier: SentimentClassifier, training: Record<string, unknown> = {}): void {
  flint.io.save(classifier.model.stateDict(), file, {
    format: SENTIMENT_CHECKPOINT_FORMAT,
    config: JSON.stringify(classifier.model.config),
    tokenizer: JSON.stringify(classifier.tokenizer.toJSON()),
    labels: JSON.stringify(classifier.labelNames),
    training: JSON.stringify(training),
  });
}

export interface LoadedSentimentCheckpoint extends SentimentClassifier {
  training: Record<string, unknown>;
}

function parseJson<T>(file: string, key: string, text: string | undefined): T {
  if (text === undefined) fail("loadSentimentCheckpoint", `${file}: the metadata has no "${key}" entry`);
  try {
    return JSON.parse(text) as T;
  } catch {
    return fail("loadSentimentCheckpoint", `${file}: the metadata entry "${key}" is not valid JSON`);
  }
}

export function loadSentimentCheckpoint(file: string): LoadedSentimentCheckpoint {
  const op = "loadSentimentCheckpoint";
  const { tensors, metadata } = flint.io.loadWithMetadata(file);
  if (metadata.format !== SENTIMENT_CHECKPOINT_FORMAT) {
    fail(op, `${file} is not a sentiment checkpoint written by flint train sentiment (format ${JSON.stringify(metadata.format ?? null)}, expected "${SENTIMENT_CHECKPOINT_FORMAT}")`);
  }
  const config = parseJson<SentimentModelConfig>(file, "config", metadata.config);
  if (!isSentimentModelKind(config.kind)) fail(op, `${file}: unknown model kind ${JSON.stringify(config.kind)}`);
  const tokenizer = WordTokenizer.fromJSON(parseJson<unknown>(file, "tokenizer", metadata.tokenizer));
  if (tokenizer.vocabSize !== config.vocabSize) fail(op, `${file}: the vocabulary has ${tokenizer.vocabSize} words but the model's embedding ${config.vocabSize} rows`);
  const labelNames = parseJson<string[]>(file, "labels", metadata.labels);
  if (!Array.isArray(labelNames) || labelNames.length !== config.numClasses) fail(op, `${file}: expected ${config.numClasses} label names, got ${JSON.stringify(labelNames)}`);
  const model = createSentimentModel(config);
  model.loadStateDict(tensors);
  model.eval();
  return { model, tokenizer, labelNames, training: metadata.training ? parseJson<Record<string, unknown>>(file, "training", metadata.training) : {} };
}
