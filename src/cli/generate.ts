/**
 * `flint generate --checkpoint PATH [--prompt TEXT] [--length N] [--temperature T] [--top-k K]`:
 * rebuilds a character model from a checkpoint written by `flint train charlm|music --save` and
 * streams generated text (the prompt, then each character as it is drawn) to stdout.
 */
import * as flint from "../index.js";
import { fail } from "../core/errors.js";
import { loadCharCheckpoint } from "../apps/checkpoint.js";
import { sampleText } from "../apps/sample.js";
import { parseOptions, type OptionSpec } from "./args.js";
import type { Output } from "./train.js";

const GENERATE_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: { type: "string", description: "a checkpoint written by flint train charlm|music --save" },
  prompt: { type: "string", description: "text to continue (default: a newline)" },
  length: { type: "integer", description: "characters to generate (default 500)" },
  temperature: { type: "number", description: "sampling temperature; 0 is greedy (default 1)" },
  "top-k": { type: "integer", description: "sample among the k most likely characters (default: all)" },
  seed: { type: "integer", description: "seed of the sampler (default 0)" },
  json: { type: "flag", description: "after the text, print one JSON object on the last stdout line" },
  help: { type: "flag", description: "show this help" },
};

const GENERATE_USAGE = "Usage: flint generate --checkpoint PATH [--prompt TEXT] [--length N] [--temperature T] [--top-k K] [--seed S] [--json]";

/** Streams text through `out` line by line; `write`, when given, receives every character as drawn. */
export async function generateCommand(argv: readonly string[], out: Output, write?: (text: string) => void): Promise<number> {
  const command = "generate";
  const options = parseOptions(command, argv, GENERATE_OPTIONS, GENERATE_USAGE, out);
  if (options === null) return 0;
  if (typeof options.checkpoint !== "string") fail(command, "--checkpoint PATH is required");
  const prompt = typeof options.prompt === "string" ? options.prompt : "";
  const length = (options.length as number | undefined) ?? 500;
  const temperature = (options.temperature as number | undefined) ?? 1;
  const topK = options["top-k"] as number | undefined;
  const seed = (options.seed as number | undefined) ?? 0;
  if (length < 0) fail(command, `--length must be non-negative, got ${length}`);
  if (temperature < 0) fail(command, `--temperature must be >= 0, got ${temperature}`);
  if (topK !== undefined && topK < 1) fail(command, `--top-k must be at least 1, got ${topK}`);
  const { model, tokenizer } = loadCharCheckpoint(options.checkpoint);

  // Line streaming through `out` (or raw streaming through `write`).
  let line = "";
  const emit = (text: string): void => {
    if (write) return write(text);
    line += text;
    const parts = line.split("\n");
    line = parts.pop() as string;
    for (const part of parts) out(part);
  };
  emit(prompt);
  const started = performance.now();
  const text = sampleText(model, tokenizer, prompt, { length, temperature, topK, generator: new flint.Generator(seed), onText: emit });
  const seconds = (performance.now() - started) / 1000;
  if (write) write("\n");
  else if (line !== "" || prompt + text === "") out(line);
  if (options.json) {
    out(JSON.stringify({ text, prompt, length, temperature, top_k: topK ?? null, seed, model: model.config.kind, seconds, chars_per_second: text.length / seconds, backend: flint.getBackend() }));
  }
  return 0;
}
