/**
 * `flint train charlm --data FILE [--model lstm|gru|rnn|transformer] [--steps N] [--save PATH]`:
 * trains a character language model on a text file and reports `val_loss`, the mean
 * cross-entropy in nats per character on the held-out last 10% of the text.
 */
import { readFileSync } from "node:fs";
import * as flint from "../index.js";
import { fail } from "../core/errors.js";
import { charCorpus, type CharCorpus } from "../apps/corpus.js";
import { saveCharCheckpoint } from "../apps/checkpoint.js";
import { CHAR_MODEL_KINDS, countParameters, createCharModel, isCharModelKind, type CharModel, type CharModelKind } from "../apps/models.js";
import { charlmRecipe, type CharRecipe } from "../apps/recipes.js";
import { evaluateLoss, trainCharModel, type CharTrainResult, type StepInfo } from "../apps/train.js";
import { parseOptions, type OptionSpec } from "./args.js";
import { formatDuration } from "./progress.js";
import type { Output } from "./train.js";

/** Model and training options shared by `train charlm` and `train music`. */
export const CHAR_TRAINING_OPTIONS: Record<string, OptionSpec> = {
  data: { type: "string", description: "the text file to train on (UTF-8)" },
  model: { type: "string", description: `${CHAR_MODEL_KINDS.join(" | ")}` },
  steps: { type: "integer", description: "optimizer steps" },
  "batch-size": { type: "integer", description: "windows per step" },
  "block-size": { type: "integer", description: "characters per window (the Transformer's context)" },
  lr: { type: "number", description: "peak AdamW learning rate" },
  "min-lr": { type: "number", description: "learning rate at the end of the cosine decay" },
  warmup: { type: "integer", description: "linear warm-up steps" },
  "weight-decay": { type: "number", description: "AdamW weight decay on matrices" },
  "grad-clip": { type: "number", description: "max gradient norm (0: no clipping)" },
  "embed-dim": { type: "integer", description: "embedding width (the Transformer's dModel)" },
  "hidden-size": { type: "integer", description: "recurrent state width" },
  layers: { type: "integer", description: "stacked layers" },
  heads: { type: "integer", description: "attention heads (Transformer)" },
  dropout: { type: "number", description: "dropout probability" },
  seed: { type: "integer", description: "seed for initialisation, batches and sampling (default 0)" },
  "max-seconds": { type: "number", description: "stop training after this many seconds" },
  "eval-chars": { type: "integer", description: "validate on the first N held-out characters (default: all)" },
  save: { type: "string", description: "write the model, vocabulary and settings (safetensors)" },
  json: { type: "flag", description: "print the results as one JSON object on the last stdout line" },
  limit: { type: "integer", description: "use only the first N characters of the data (quick runs)", hidden: true },
  help: { type: "flag", description: "show this help" },
};

export interface CharSettings {
  data: string;
  recipe: CharRecipe;
  seed: number;
  maxSeconds: number | undefined;
  evalChars: number | undefined;
  limit: number | undefined;
}

/** The recipe for the chosen model with every option given on the command line applied. */
export function charSettings(command: string, options: Record<string, string | number | boolean>, recipeOf: (kind: CharModelKind) => CharRecipe, defaultKind: CharModelKind): CharSettings {
  const data = options.data;
  if (typeof data !== "string" || data === "") fail(command, "--data FILE is required: a text file to train on");
  const kind = options.model ?? defaultKind;
  if (!isCharModelKind(kind)) fail(command, `unknown model "${kind}" (choose one of: ${CHAR_MODEL_KINDS.join(", ")})`);
  const base = recipeOf(kind);
  const num = (name: string): number | undefined => options[name] as number | undefined;
  const model = {
    ...base.model,
    embedDim: num("embed-dim") ?? base.model.embedDim,
    hiddenSize: num("hidden-size") ?? base.model.hiddenSize,
    numLayers: num("layers") ?? base.model.numLayers,
    numHeads: num("heads") ?? base.model.numHeads,
    dropout: num("dropout") ?? base.model.dropout,
  };
  const train = {
    ...base.train,
    steps: num("steps") ?? base.train.steps,
    batchSize: num("batch-size") ?? base.train.batchSize,
    blockSize: num("block-size") ?? base.train.blockSize,
    lr: num("lr") ?? base.train.lr,
    minLr: num("min-lr") ?? base.train.minLr,
    warmupSteps: num("warmup") ?? base.train.warmupSteps,
    weightDecay: num("weight-decay") ?? base.train.weightDecay,
    gradClip: num("grad-clip") ?? base.train.gradClip,
  };
  // The Transformer's position table covers the training window.
  model.blockSize = train.blockSize;
  const maxSeconds = num("max-seconds");
  if (maxSeconds !== undefined && !(maxSeconds > 0)) fail(command, `--max-seconds must be positive, got ${maxSeconds}`);
  const evalChars = num("eval-chars");
  if (evalChars !== undefined && evalChars < 1) fail(command, `--eval-chars must be at least 1, got ${evalChars}`);
  const limit = num("limit");
  if (limit !== undefined && limit < 100) fail(command, `--limit must be at least 100 characters, got ${limit}`);
  return { data, recipe: { model, train }, seed: num("seed") ?? 0, maxSeconds, evalChars, limit };
}

export function readTextFile(command: string, path: string, limit?: number): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    return fail(command, `cannot read --data ${path}: ${(error as Error).message}`);
  }
  return limit === undefined ? text : text.slice(0, limit);
}

/** Progress on stderr at every tenth of the run (and the first step). */
export function progressLines(stream: NodeJS.WritableStream = process.stderr): (info: StepInfo) => void {
  let lastTenth = -1;
  return (info) => {
    const tenth = Math.floor((10 * info.step) / info.steps);
    if (info.step !== 1 && tenth === lastTenth) return;
    lastTenth = tenth;
    const eta = ((info.steps - info.step) * info.seconds) / info.step;
    stream.write(`step ${info.step}/${info.steps} loss ${info.loss.toFixed(4)} lr ${info.lr.toExponential(2)} ${info.charsPerSecond.toFixed(0)} chars/s ETA ${formatDuration(eta)}\n`);
  };
}

export interface CharSession {
  model: CharModel;
  corpus: CharCorpus;
  result: CharTrainResult;
  valLoss: number;
  evalSeconds: number;
}

/** Seeds, builds, trains and validates a model per `settings` on `text`. */
export function runCharSession(settings: CharSettings, text: string): CharSession {
  const corpus = charCorpus(text);
  flint.manualSeed(settings.seed);
  const model = createCharModel({ ...settings.recipe.model, vocabSize: corpus.tokenizer.vocabSize });
  const result = trainCharModel(model, corpus, { ...settings.recipe.train, seed: settings.seed, maxSeconds: settings.maxSeconds, onStep: progressLines() });
  const started = performance.now();
  const valLoss = evaluateLoss(model, corpus.val, { blockSize: settings.recipe.train.blockSize, batchSize: 64, maxChars: settings.evalChars });
  return { model, corpus, result, valLoss, evalSeconds: (performance.now() - started) / 1000 };
}

/** The JSON fields both training commands report. */
export function sessionSummary(settings: CharSettings, session: CharSession): Record<string, unknown> {
  const { recipe } = settings;
  return {
    model: recipe.model.kind,
    val_loss: session.valLoss,
    train_loss: session.result.trainLoss,
    first_loss: session.result.firstLoss,
    steps: recipe.train.steps,
    steps_run: session.result.stepsRun,
    train_seconds: session.result.trainSeconds,
    eval_seconds: session.evalSeconds,
    chars_per_second: session.result.charsPerSecond,
    parameters: countParameters(session.model),
    vocab_size: session.corpus.tokenizer.vocabSize,
    train_chars: session.corpus.train.length,
    val_chars: settings.evalChars === undefined ? session.corpus.val.length : Math.min(session.corpus.val.length, settings.evalChars + 1),
    config: { ...recipe.model, vocabSize: session.corpus.tokenizer.vocabSize },
    training: { ...recipe.train, seed: settings.seed, maxSeconds: settings.maxSeconds ?? null },
    backend: flint.getBackend(),
  };
}

const CHARLM_USAGE = `Usage: flint train charlm --data FILE [--model ${CHAR_MODEL_KINDS.join("|")}] [--steps N] [--save PATH] [options]

Trains a character language model on a text file (the last 10% held out) and reports val_loss,
nats per character on the held-out text. Defaults (--model transformer): nanoGPT's Tiny
Shakespeare CPU recipe, 4 layers, 4 heads, 128 dims, block 64, batch 12, AdamW lr 1e-3 betas
(0.9, 0.99) weight decay 0.1, 100 warm-up steps then cosine to 1e-4, 2000 steps, GELU MLP x4,
pre-norm causal attention. lstm / gru / rnn: embedding 64, 2 layers x 256, batch 32, lr 2e-3.`;

export async function trainCharlmCommand(argv: readonly string[], out: Output): Promise<number> {
  const command = "train charlm";
  const options = parseOptions(command, argv, CHAR_TRAINING_OPTIONS, CHARLM_USAGE, out);
  if (options === null) return 0;
  const settings = charSettings(command, options, charlmRecipe, "transformer");
  const text = readTextFile(command, settings.data, settings.limit);
  const json = Boolean(options.json);
  const { model, train } = settings.recipe;
  if (!json) out(`flint train charlm: ${model.kind} on ${settings.data} (${text.length} characters), ${train.steps} steps of ${train.batchSize} x ${train.blockSize}, AdamW lr ${train.lr}, seed ${settings.seed}, backend ${flint.getBackend()}`);
  const session = runCharSession(settings, text);
  const summary = sessionSummary(settings, session);
  if (typeof options.save === "string") {
    saveCharCheckpoint(options.save, session.model, session.corpus.tokenizer, { data: settings.data, ...(summary.training as object), val_loss: session.valLoss, steps_run: session.result.stepsRun });
    summary.checkpoint = options.save;
    if (!json) out(`saved ${options.save}`);
  }
  if (json) out(JSON.stringify(summary));
  else out(`done: val_loss ${session.valLoss.toFixed(4)} nats/char (train ${session.result.trainLoss.toFixed(4)}), ${session.result.stepsRun} steps in ${formatDuration(session.result.trainSeconds)} (${session.result.charsPerSecond.toFixed(0)} chars/s), ${summary.parameters} parameters`);
  return 0;
}
