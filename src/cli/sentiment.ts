/**
 * `flint train sentiment` and `flint classify`: sentence sentiment on SST-2 (GLUE layout) or the
 * UCI "Sentiment Labelled Sentences" files, with the recipe in src/apps/sentiment.
 */
import * as flint from "../index.js";
import { fail } from "../core/errors.js";
import {
  classifySentences,
  defaultTrainSettings,
  isSentimentFormat,
  isSentimentModelKind,
  loadSentimentCheckpoint,
  loadSentimentSplits,
  saveSentimentCheckpoint,
  SENTIMENT_FORMATS,
  SENTIMENT_MODEL_KINDS,
  trainSentiment,
  type SentimentTrainSettings,
} from "../apps/sentiment/index.js";
import { helpText, parseArgs, parseOptions, type OptionSpec } from "./args.js";
import { formatDuration, ProgressBar } from "./progress.js";

/** Prints one stdout line. */
export type Output = (line: string) => void;

export const DEFAULT_SENTIMENT_MODEL = "cnn";

export const TRAIN_SENTIMENT_OPTIONS: Record<string, OptionSpec> = {
  data: { type: "string", description: "folder with train.tsv and dev.tsv (SST-2, GLUE layout), or the UCI files with --format uci" },
  format: { type: "string", description: `data layout: ${SENTIMENT_FORMATS.join(" | ")} (default sst2)` },
  model: { type: "string", description: `${SENTIMENT_MODEL_KINDS.join(" | ")} (default ${DEFAULT_SENTIMENT_MODEL})` },
  epochs: { type: "integer", description: "most epochs to train (default 2; early stopping may end sooner)" },
  "batch-size": { type: "integer", description: "sentences per step (default 64)" },
  lr: { type: "number", description: "Adam learning rate (default 1e-3 for cnn, 2e-3 for bilstm, 5e-4 for transformer)" },
  seed: { type: "integer", description: "seed for initialisation, the validation slice and shuffling (default 0)" },
  "valid-fraction": { type: "number", description: "share of the training data held out for early stopping (default 0.05)" },
  "min-freq": { type: "integer", description: "words seen fewer times in training become <unk> (default 2)" },
  "max-len": { type: "integer", description: "cut sentences to this many tokens (default 128)" },
  patience: { type: "integer", description: "stop after this many epochs without a better validation accuracy (default 2)" },
  "average-epochs": { type: "number", description: "validate and keep a moving average of the weights over about this many epochs; 0 turns it off (default 0)" },
  save: { type: "string", description: "write the selected model, vocabulary and labels (safetensors) to this file" },
  json: { type: "flag", description: "print the results as one JSON object on the last stdout line" },
  help: { type: "flag", description: "show this help" },
};

export const TRAIN_SENTIMENT_USAGE = `Usage: flint train sentiment --data DIR [--format sst2|uci] [--model ${SENTIMENT_MODEL_KINDS.join("|")}] [options]

Trains a sentence sentiment classifier: word tokens (lowercased; vocabulary from the training
sentences only), padded batches with masks, Adam, cross-entropy. The epoch with the best accuracy
on a held-out slice of the training data is kept (never chosen on dev); dev accuracy is reported.
  cnn          Kim (2014) CNN-rand: embedding 128, 100 filters each of widths 3/4/5, ReLU, max over time, dropout 0.5
  bilstm       embedding 128, bidirectional LSTM 128, max-pool over time, dropout 0.5
  transformer  embedding 128 + sinusoidal positions, 2 encoder layers (4 heads, feed-forward 256), mean pool
With --format uci, every fifth line of each UCI file is the dev set.`;

export const CLASSIFY_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: { type: "string", description: "a file written by flint train sentiment --save" },
  json: { type: "flag", description: "print one JSON object per sentence" },
  help: { type: "flag", description: "show this help" },
};

export const CLASSIFY_USAGE = `Usage: flint classify --checkpoint PATH "text" ["more text" ...]

Prints each sentence's label and its probability.`;

function settingsFrom(options: Record<string, string | number | boolean>, model: (typeof SENTIMENT_MODEL_KINDS)[number]): SentimentTrainSettings {
  const defaults = defaultTrainSettings(model);
  const pick = (name: string, fallback: number): number => (options[name] as number | undefined) ?? fallback;
  return {
    model,
    epochs: pick("epochs", defaults.epochs),
    batchSize: pick("batch-size", defaults.batchSize),
    lr: pick("lr", defaults.lr),
    seed: pick("seed", defaults.seed),
    validFraction: pick("valid-fraction", defaults.validFraction),
    minFreq: pick("min-freq", defaults.minFreq),
    maxLen: pick("max-len", defaults.maxLen),
    patience: pick("patience", defaults.patience),
    averageEpochs: pick("average-epochs", defaults.averageEpochs),
  };
}

export async function trainSentimentCommand(argv: readonly string[], out: Output): Promise<number> {
  const op = "train sentiment";
  const options = parseOptions(op, argv, TRAIN_SENTIMENT_OPTIONS, TRAIN_SENTIMENT_USAGE, out);
  if (options === null) return 0;
  if (typeof options.data !== "string" || options.data === "") fail(op, "--data DIR is required: the folder holding train.tsv and dev.tsv (e.g. --data ../shared/data/sentiment/sst2)");
  const format = options.format ?? "sst2";
  if (!isSentimentFormat(format)) fail(op, `unknown --format "${format}" (choose one of: ${SENTIMENT_FORMATS.join(", ")})`);
  const model = options.model ?? DEFAULT_SENTIMENT_MODEL;
  if (!isSentimentModelKind(model)) fail(op, `unknown --model "${model}" (choose one of: ${SENTIMENT_MODEL_KINDS.join(", ")})`);
  const settings = settingsFrom(options, model);
  const json = Boolean(options.json);

  const splits = loadSentimentSplits(options.data, format);
  let progress: ProgressBar | null = null;
  const result = trainSentiment(splits, settings, {
    onStart: (info) => {
      if (!json) out(`flint train sentiment: ${model} on ${format} (${info.train} training / ${info.valid} validation / ${info.dev} dev sentences), vocabulary ${info.vocabSize} words, ${info.parameters} parameters, up to ${settings.epochs} epochs, batch ${settings.batchSize}, Adam lr ${settings.lr}${settings.averageEpochs > 0 ? `, weights averaged over ~${settings.averageEpochs} epoch(s)` : ""}, seed ${settings.seed}, backend ${flint.getBackend()}`);
    },
    onStep: (epoch, step, steps, loss, rate, secondsLeft) => {
      if (step === 1) progress = new ProgressBar(epoch, settings.epochs, steps);
      progress?.update(step, loss, rate, secondsLeft);
    },
    onEpoch: (r) => {
      if (!json) out(`epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}, validation accuracy ${(100 * r.validAccuracy).toFixed(2)}%${r.best ? " (best)" : ""}, ${formatDuration(r.seconds)} training, ${r.samplesPerSecond.toFixed(0)} sentences/s`);
    },
  });
  const summary = {
    model,
    format,
    dev_accuracy: result.devAccuracy,
    dev_loss: result.devLoss,
    valid_accuracy: result.validAccuracy,
    best_epoch: result.bestEpoch,
    epochs: settings.epochs,
    epochs_run: result.epochsRun,
    train_seconds: result.trainSeconds,
    train_samples: result.trainSamples,
    valid_samples: result.validSamples,
    dev_samples: result.devSamples,
    vocab_size: result.vocabSize,
    max_len: settings.maxLen,
    batch_size: settings.batchSize,
    lr: settings.lr,
    seed: settings.seed,
    average_epochs: settings.averageEpochs,
    backend: flint.getBackend(),
  };
  if (typeof options.save === "string") {
    saveSentimentCheckpoint(options.save, result.classifier, summary);
    if (!json) out(`saved ${options.save} (epoch ${result.bestEpoch})`);
  }
  if (json) out(JSON.stringify(summary));
  else out(`done: dev accuracy ${(100 * result.devAccuracy).toFixed(2)}% (${result.devSamples} sentences) with the epoch-${result.bestEpoch}${settings.averageEpochs > 0 ? " averaged" : ""} weights, ${formatDuration(result.trainSeconds)} training`);
  return 0;
}

export async function classifyCommand(argv: readonly string[], out: Output): Promise<number> {
  const op = "classify";
  const { positional, options } = parseArgs(op, argv, CLASSIFY_OPTIONS);
  if (options.help) {
    out(helpText(CLASSIFY_USAGE, CLASSIFY_OPTIONS));
    return 0;
  }
  if (typeof options.checkpoint !== "string" || options.checkpoint === "") fail(op, "--checkpoint PATH is required: a file written by flint train sentiment --save");
  if (positional.length === 0) fail(op, 'give the text to classify, e.g. flint classify --checkpoint model.safetensors "a gripping, funny film"');
  const classifier = loadSentimentCheckpoint(options.checkpoint);
  // Sentences are cut as in training.
  const maxLen = typeof classifier.training.max_len === "number" ? classifier.training.max_len : undefined;
  for (const p of classifySentences(classifier, positional, { maxLen })) {
    if (options.json) out(JSON.stringify({ text: p.text, label: p.labelName, probability: p.probability, probabilities: Object.fromEntries(classifier.labelNames.map((n, i) => [n, p.probabilities[i]])), unknown_tokens: p.unknownTokens }));
    else out(`${p.labelName}\t${p.probability.toFixed(4)}`);
  }
  return 0;
}
