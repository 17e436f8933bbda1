/**
 * Sampling text from a character model: temperature, top-k, a seeded generator, and streaming
 * (each new character is handed to onText as soon as it is drawn). Recurrent models carry their
 * state from step to step; the Transformer re-reads its last blockSize characters (nanoGPT).
 */
import * as flint from "../index.js";
import { fail } from "../core/errors.js";
import { Layout } from "../core/layout.js";
import type { CharTokenizer } from "../text/index.js";
import type { CharModel, RecurrentState } from "./models.js";

type Tensor = flint.Tensor;

export interface SampleOptions {
  /** Characters to generate. */
  length: number;
  /** Divides the logits (default 1); 0 picks the most likely character (greedy). */
  temperature?: number;
  /** Sample among the k most likely characters only (default: all). */
  topK?: number;
  /** The random source (default flint's global generator). */
  generator?: flint.Generator;
  /** Receives each generated character as it is drawn. */
  onText?: (text: string) => void;
  /** Stop early once this returns true for the text generated so far. */
  stop?: (generated: string) => boolean;
}

/** Draws an index from softmax(logits / temperature), restricted to the topK largest. */
export function sampleIndex(logits: Float32Array, temperature: number, topK: number | undefined, generator: flint.Generator): number {
  const V = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let threshold = -Infinity;
  if (topK !== undefined && topK < V) threshold = Array.from(logits).sort((a, b) => b - a)[topK - 1];
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[i] >= threshold && logits[i] > max) max = logits[i];
  const weights = new Float64Array(V);
  let total = 0;
  for (let i = 0; i < V; i++) {
    if (logits[i] < threshold) continue;
    weights[i] = Math.exp((logits[i] - max) / temperature);
    total += weights[i];
  }
  let u = generator.random() * total;
  for (let i = 0; i < V; i++) {
    if (weights[i] === 0) continue;
    u -= weights[i];
    if (u < 0) return i;
  }
  for (let i = V - 1; i >= 0; i--) if (weights[i] > 0) return i;
  return 0;
}

function idsTensor(ids: readonly number[]): Tensor {
  return new flint.Tensor(Int32Array.from(ids), Layout.contiguous([1, ids.length]), "int32");
}

/** The prompt's ids; an empty prompt starts from a newline (or the first character of the vocabulary). */
export function promptIds(tokenizer: CharTokenizer, prompt: string): number[] {
  for (const ch of Array.from(prompt)) {
    if (!tokenizer.vocab.has(ch)) fail("generate", `the prompt's character ${JSON.stringify(ch)} is not in the model's vocabulary of ${tokenizer.vocabSize} characters`);
  }
  if (prompt.length > 0) return tokenizer.encode(prompt);
  return [tokenizer.vocab.has("\n") ? tokenizer.vocab.indexOf("\n") : 0];
}

/** Generates up to `length` characters after `prompt`; returns them (without the prompt). */
export function sampleText(model: CharModel, tokenizer: CharTokenizer, prompt: string, options: SampleOptions): string {
  const temperature = options.temperature ?? 1;
  const topK = options.topK;
  if (!Number.isInteger(options.length) || options.length < 0) fail("generate", `length must be a non-negative integer, got ${options.length}`);
  if (!(temperature >= 0) || !Number.isFinite(temperature)) fail("generate", `temperature must be a finite number >= 0, got ${temperature}`);
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) fail("generate", `topK must be a positive integer, got ${topK}`);
  if (model.config.vocabSize !== tokenizer.vocabSize) fail("generate", `the model has ${model.config.vocabSize} outputs but the vocabulary ${tokenizer.vocabSize} characters`);
  const generator = options.generator ?? flint.defaultGenerator;
  const recurrent = model.config.kind !== "transformer";
  const context = promptIds(tokenizer, prompt);
  let generated = "";
  const wasTraining = model.training;
  model.eval();
  flint.noGrad(() => {
    let state: RecurrentState = null;
    let pending = context.slice();
    for (let i = 0; i < options.length; i++) {
      let logits: Tensor;
      if (recurrent) {
        [logits, state] = model.step(idsTensor(pending), state);
      } else {
        logits = model.step(idsTensor(context.slice(-model.config.blockSize)))[0];
      }
      const T = logits.shape[1];
      const last = logits.select(1, T - 1).reshape([-1]).data() as Float32Array;
      const id = sampleIndex(last, temperature, topK, generator);
      context.push(id);
      pending = [id];
      const text = tokenizer.decode([id]);
      generated += text;
      options.onText?.(text);
      if (options.stop?.(generated)) break;
    }
  });
  model.train(wasTraining);
  return generated;
}
