/**
 * Translator checkpoints: one safetensors file (written atomically by flint.io.save) with the
 * model's state dict, and in `__metadata__` the model config, both vocabularies, the inference
 * settings (source order, output length) and the training summary, so `flint translate` needs
 * nothing else.
 */
import * as flint from "../../index.js";
import { fail } from "../../core/errors.js";
import { Vocab } from "../../text/index.js";
import type { TranslationVocabs } from "./corpus.js";
import { Translator, type TranslatorConfig } from "./model.js";
import type { TranslateRecipe } from "./train.js";

export const TRANSLATE_CHECKPOINT_FORMAT = "flint-translate/1";

export type InferenceSettings = Pick<TranslateRecipe, "reverseSource" | "maxLength">;

export function saveTranslator(path: string, model: Translator, vocabs: TranslationVocabs, settings: InferenceSettings, training: Record<string, unknown> = {}): void {
  flint.io.save(model.stateDict(), path, {
    format: TRANSLATE_CHECKPOINT_FORMAT,
    config: JSON.stringify(model.config),
    source_vocab: JSON.stringify(vocabs.source.toJSON()),
    target_vocab: JSON.stringify(vocabs.target.toJSON()),
    inference: JSON.stringify({ reverseSource: settings.reverseSource, maxLength: settings.maxLength }),
    training: JSON.stringify(training),
  });
}

export interface LoadedTranslator {
  model: Translator;
  vocabs: TranslationVocabs;
  settings: InferenceSettings;
  training: Record<string, unknown>;
}

export function loadTranslator(path: string): LoadedTranslator {
  const op = "loadTranslator";
  const { tensors, metadata } = flint.io.loadWithMetadata(path);
  if (metadata.format !== TRANSLATE_CHECKPOINT_FORMAT) {
    fail(op, `${path} is not a translation checkpoint written by flint train translate (format ${JSON.stringify(metadata.format ?? null)}, expected "${TRANSLATE_CHECKPOINT_FORMAT}")`);
  }
  const config = JSON.parse(metadata.config) as TranslatorConfig;
  const vocabs = { source: Vocab.fromJSON(metadata.source_vocab), target: Vocab.fromJSON(metadata.target_vocab) };
  if (vocabs.source.length !== config.sourceVocabSize || vocabs.target.length !== config.targetVocabSize) {
    fail(op, `${path}: vocabularies of ${vocabs.source.length}/${vocabs.target.length} words do not match the model's ${config.sourceVocabSize}/${config.targetVocabSize}`);
  }
  const model = new Translator(config);
  model.loadStateDict(tensors);
  model.eval();
  return { model, vocabs, settings: JSON.parse(metadata.inference) as InferenceSettings, training: metadata.training ? JSON.parse(metadata.training) : {} };
}
