/**
 * `flint train music --data irish.abc`: trains a character model on a book of ABC tunes, samples
 * tunes into an .abc file and reports `valid_fraction`, the share of sampled tunes that are valid
 * ABC by the rule in apps/abc.ts (abcjs parses them without warnings, X: and K: headers, at least
 * one bar of notes).
 */
import { writeFileSync } from "node:fs";
import * as flint from "../index.js";
import { fail } from "../core/errors.js";
import { checkAbcTune, splitAbcTunes } from "../apps/abc.js";
import { saveCharCheckpoint } from "../apps/checkpoint.js";
import { musicRecipe } from "../apps/recipes.js";
import { sampleText } from "../apps/sample.js";
import { parseOptions, type OptionSpec } from "./args.js";
import { charSettings, CHAR_TRAINING_OPTIONS, readTextFile, runCharSession, sessionSummary } from "./charlm.js";
import { formatDuration } from "./progress.js";
import type { Output } from "./train.js";

const MUSIC_OPTIONS: Record<string, OptionSpec> = {
  ...CHAR_TRAINING_OPTIONS,
  tunes: { type: "integer", description: "tunes to sample after training (default 20)" },
  output: { type: "string", description: "where to write the sampled tunes (default generated.abc)" },
  temperature: { type: "number", description: "sampling temperature (default 0.8)" },
  "top-k": { type: "integer", description: "sample among the k most likely characters (default: all)" },
  "tune-length": { type: "integer", description: "most characters per sampled tune (default 1000)" },
};

const DEFAULT_MAX_SECONDS = 600;
// Sampling a little colder than the model's distribution keeps the rare garbled header (a
// misspelt key such as "K:E Corian") out of the tunes; --temperature 1 samples it as is.
const DEFAULT_TEMPERATURE = 0.8;

const MUSIC_USAGE = `Usage: flint train music --data FILE.abc [--model lstm|gru|rnn|transformer] [--steps N] [--tunes 20] [--output generated.abc] [options]

Trains a character model on ABC tunes (default: LSTM, embedding 32, 1 layer x 128, batch 16,
block 64, AdamW lr 5e-3 with a cosine decay over 3000 steps or 10 minutes (--max-seconds 600),
whichever comes first), samples tunes at temperature 0.8 (each from "X:" until a blank line) into
--output and reports valid_fraction: the share of sampled tunes that abcjs parses without
warnings, that start with X:<number>, whose header ends with K:, and that hold at least one bar
of notes.`;

export async function trainMusicCommand(argv: readonly string[], out: Output): Promise<number> {
  const command = "train music";
  const options = parseOptions(command, argv, MUSIC_OPTIONS, MUSIC_USAGE, out);
  if (options === null) return 0;
  // At most 10 minutes of training unless told otherwise.
  const settings = charSettings(command, { "max-seconds": DEFAULT_MAX_SECONDS, ...options }, musicRecipe, "lstm");
  const tuneCount = (options.tunes as number | undefined) ?? 20;
  const temperature = (options.temperature as number | undefined) ?? DEFAULT_TEMPERATURE;
  const topK = options["top-k"] as number | undefined;
  const tuneLength = (options["tune-length"] as number | undefined) ?? 1000;
  const output = typeof options.output === "string" ? options.output : "generated.abc";
  if (tuneCount < 1) fail(command, `--tunes must be at least 1, got ${tuneCount}`);
  if (temperature < 0) fail(command, `--temperature must be >= 0, got ${temperature}`);
  if (tuneLength < 10) fail(command, `--tune-length must be at least 10, got ${tuneLength}`);
  const text = readTextFile(command, settings.data, settings.limit);
  const bookTunes = splitAbcTunes(text);
  if (bookTunes.length === 0) fail(command, `${settings.data} holds no ABC tunes (no line starts with X:)`);
  const json = Boolean(options.json);
  const { model, train } = settings.recipe;
  if (!json) out(`flint train music: ${model.kind} on ${settings.data} (${bookTunes.length} tunes, ${text.length} characters), ${train.steps} steps of ${train.batchSize} x ${train.blockSize}, seed ${settings.seed}, backend ${flint.getBackend()}`);

  const session = runCharSession(settings, text);
  const generator = new flint.Generator(settings.seed + 1);
  const sampled: string[] = [];
  let valid = 0;
  const started = performance.now();
  for (let i = 0; i < tuneCount; i++) {
    const body = sampleText(session.model, session.corpus.tokenizer, "X:", { length: tuneLength, temperature, topK, generator, stop: (g) => g.endsWith("\n\n") });
    const tune = `X:${body}`.trim();
    sampled.push(tune);
    const check = checkAbcTune(tune);
    if (check.valid) valid++;
    else if (!json) out(`tune ${i + 1}: not valid ABC: ${check.problems[0]}`);
  }
  const sampleSeconds = (performance.now() - started) / 1000;
  writeFileSync(output, `${sampled.join("\n\n")}\n`);
  const summary: Record<string, unknown> = {
    ...sessionSummary(settings, session),
    valid_fraction: valid / tuneCount,
    valid_tunes: valid,
    sampled_tunes: tuneCount,
    data_valid_fraction: bookTunes.filter((t) => checkAbcTune(t).valid).length / bookTunes.length,
    temperature,
    top_k: topK ?? null,
    sample_seconds: sampleSeconds,
    output,
  };
  if (typeof options.save === "string") {
    saveCharCheckpoint(options.save, session.model, session.corpus.tokenizer, { data: settings.data, ...(summary.training as object), val_loss: session.valLoss, valid_fraction: valid / tuneCount });
    summary.checkpoint = options.save;
    if (!json) out(`saved ${options.save}`);
  }
  if (json) out(JSON.stringify(summary));
  else out(`done: valid_fraction ${(valid / tuneCount).toFixed(2)} (${valid}/${tuneCount} tunes in ${output}), val_loss ${session.valLoss.toFixed(4)}, ${session.result.stepsRun} steps in ${formatDuration(session.result.trainSeconds)}`);
  return 0;
}
