// `node dist/bench/translation-determinism.js [--steps N] [--processes P] [--data FILE]`: trains
// the translator (default recipe, seed 0) for N steps in P processes at once and checks that all
// of them give the same loss and the same parameters, bit for bit, after every step. P processes
// of two threads each crowd the two cores, so threads are delayed at random points: a race in the
// thread pool or a kernel then shows as a process that parts from the others. (Before 67aed56, a
// worker could run a share of a job twice; about one such run in seven parted within 200 steps.)
// Prints each process's verdict; exits 1 if any differ.
import { spawn } from "node:child_process";
import { setFlagsFromString } from "node:v8";
import { fileURLToPath } from "node:url";
import { sourceIds, targetIds } from "../src/apps/translate/corpus.js";
import { loadTranslationPairs } from "../src/apps/translate/data.js";
import { createTranslator, DEFAULT_RECIPE, prepareData, TranslationTrainer } from "../src/apps/translate/train.js";

setFlagsFromString("--experimental-wasm-relaxed-simd");

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const steps = Number(option("--steps", "200"));
const processes = Number(option("--processes", "4"));
const dataFile = option("--data", "../shared/data/eng-fra/fra.txt");

/** A 32-bit hash of the parameters' bits. */
function parameterHash(trainer: TranslationTrainer): number {
  let hash = 0;
  for (const p of trainer.model.parameters()) {
    const data = p.data() as Float32Array;
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
    for (let i = 0; i < bits.length; i++) hash = (Math.imul(hash, 31) + bits[i]) | 0;
  }
  return hash >>> 0;
}

/** One process's run: a line per step, "step loss hash", on stdout. */
function child(): void {
  const recipe = DEFAULT_RECIPE;
  const data = prepareData(loadTranslationPairs(dataFile), recipe.seed);
  const trainer = new TranslationTrainer(createTranslator(recipe, data.vocabs), data, recipe);
  const encoded = data.train.map((p) => ({ source: sourceIds(data.vocabs.source, p.english, recipe.reverseSource), target: targetIds(data.vocabs.target, p.french) }));
  const lines: string[] = [];
  for (let step = 0; step < steps; step++) {
    const start = (step * recipe.batchSize) % (encoded.length - recipe.batchSize);
    const loss = trainer.trainStep(encoded.slice(start, start + recipe.batchSize));
    lines.push(`${step} ${loss} ${parameterHash(trainer)}`);
  }
  process.stdout.write(lines.join("\n") + "\n");
}

function runChild(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(import.meta.url);
    const proc = spawn(process.execPath, [script, "--child", "--steps", String(steps), "--data", dataFile], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    proc.on("error", reject);
    proc.on("close", (code) => (code === 0 ? resolve(out.trim().split("\n")) : reject(new Error(`a training process exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  console.log(`${processes} processes at once, ${steps} translation steps each`);
  const runs = (await Promise.all(Array.from({ length: processes }, runChild))).map((lines) => lines.join("\n"));
  // The reference is the run most others agree with, so that a lone parting run is named as such.
  const agreeing = runs.map((run) => runs.filter((other) => other === run).length);
  const reference = runs[agreeing.indexOf(Math.max(...agreeing))].split("\n");
  let differing = 0;
  runs.forEach((run, p) => {
    const lines = run.split("\n");
    const at = lines.findIndex((line, step) => line !== reference[step]);
    if (at < 0 && lines.length === reference.length) {
      console.log(`process ${p}: same as the majority for all ${lines.length} steps`);
      return;
    }
    differing++;
    const [, lossHere, hashHere] = (lines[at] ?? "").split(" ");
    const [, lossThere, hashThere] = (reference[at] ?? "").split(" ");
    console.log(`process ${p}: parts from the majority at step ${at}: loss ${lossHere} vs ${lossThere}, parameters ${hashHere} vs ${hashThere}`);
  });
  process.exit(differing > 0 ? 1 : 0);
}

if (process.argv.includes("--child")) {
  child();
  process.exit(0);
} else {
  await main();
}
