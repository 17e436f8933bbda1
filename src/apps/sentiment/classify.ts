/**
 * Inference: sentences -> label and probability. An empty sentence, or one made only of unknown
 * words, is still classified (as <pad> alone, or <unk> tokens): the model answers with what it
 * learned for such input instead of failing.
 */
import * as flint from "../../index.js";
import { makeBatch } from "./batches.js";
import type { SentimentClassifier } from "./checkpoint.js";

export interface SentimentPrediction {
  text: string;
  /** Class id. */
  label: number;
  labelName: string;
  /** Probability of the predicted class. */
  probability: number;
  /** Probability per class. */
  probabilities: number[];
  /** Tokens of the sentence that the vocabulary does not know. */
  unknownTokens: string[];
}

export function classifySentences(classifier: SentimentClassifier, texts: readonly string[], options: { maxLen?: number } = {}): SentimentPrediction[] {
  if (texts.length === 0) return [];
  const { model, tokenizer, labelNames } = classifier;
  const ids = texts.map((t) => tokenizer.encode(t));
  const batch = makeBatch({ ids, labels: texts.map(() => 0) }, texts.map((_, i) => i), options.maxLen ?? 128);
  const wasTraining = model.training;
  model.eval();
  const probabilities = flint.noGrad(() => flint.nn.functional.softmax(model.forward(batch.ids, batch.lengths), 1));
  model.train(wasTraining);
  const rows = probabilities.tolist() as number[][];
  return rows.map((p, i) => {
    const label = p.indexOf(Math.max(...p));
    return {
      text: texts[i],
      label,
      labelName: labelNames[label],
      probability: p[label],
      probabilities: p,
      unknownTokens: tokenizer.tokenize(texts[i]).filter((t) => !tokenizer.vocab.has(t)),
    };
  });
}
