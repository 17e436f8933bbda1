import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as flint from "../../src/index.js";
import { trainCharlmCommand } from "../../src/cli/charlm.js";
import { generateCommand } from "../../src/cli/generate.js";
import { dataDir } from "../helpers.js";

const shakespeare = join(dataDir(), "tinyshakespeare", "input.txt");
const work = mkdtempSync(join(tmpdir(), "flint-charlm-cli-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

async function run(command: typeof trainCharlmCommand, argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await command(argv, (line) => lines.push(line));
  return { code, lines };
}

// A tiny model on the first 20k characters, so the test takes seconds.
const tinyGru = ["--data", shakespeare, "--limit", "20000", "--model", "gru", "--steps", "40", "--batch-size", "8", "--block-size", "16", "--embed-dim", "16", "--hidden-size", "32", "--layers", "1", "--lr", "0.01", "--warmup", "4", "--eval-chars", "1000"];

test("train charlm trains, reports val_loss as JSON and saves a checkpoint that generate rebuilds", async () => {
  const checkpoint = join(work, "gru.safetensors");
  const trained = await run(trainCharlmCommand, [...tinyGru, "--save", checkpoint, "--json"]);
  assert.equal(trained.code, 0);
  const summary = JSON.parse(trained.lines[trained.lines.length - 1]);
  assert.equal(summary.model, "gru");
  assert.equal(summary.steps_run, 40);
  assert.equal(summary.train_chars, 18000);
  assert.equal(summary.val_chars, 1001);
  assert.ok(summary.val_loss > 0 && summary.val_loss < summary.first_loss - 0.5, `val_loss ${summary.val_loss}, first loss ${summary.first_loss}`);
  assert.equal(summary.checkpoint, checkpoint);

  const args = ["--checkpoint", checkpoint, "--prompt", "Citizen:", "--length", "60", "--seed", "3"];
  const first = await run(generateCommand, args);
  const again = await run(generateCommand, args);
  assert.equal(first.code, 0);
  assert.deepEqual(again.lines, first.lines);
  const text = first.lines.join("\n");
  assert.ok(text.startsWith("Citizen:"));
  assert.equal(text.length, "Citizen:".length + 60);
  const other = await run(generateCommand, [...args.slice(0, -1), "4"]);
  assert.notDeepEqual(other.lines, first.lines);
  // Raw streaming hands over every character; --json adds the result on the last line.
  const chunks: string[] = [];
  const streamed: string[] = [];
  assert.equal(await generateCommand([...args, "--json"], (line) => streamed.push(line), (chunk) => chunks.push(chunk)), 0);
  const result = JSON.parse(streamed[streamed.length - 1]);
  assert.equal(chunks.join(""), `${text}\n`);
  assert.equal(`Citizen:${result.text}`, text);
  assert.equal(result.model, "gru");
  const greedy = await run(generateCommand, ["--checkpoint", checkpoint, "--length", "30", "--temperature", "0", "--seed", "1"]);
  assert.deepEqual((await run(generateCommand, ["--checkpoint", checkpoint, "--length", "30", "--temperature", "0", "--seed", "2"])).lines, greedy.lines);
});

test("train charlm: the transformer recipe runs end to end", async () => {
  const { code, lines } = await run(trainCharlmCommand, ["--data", shakespeare, "--limit", "20000", "--steps", "20", "--batch-size", "4", "--block-size", "16", "--embed-dim", "16", "--layers", "1", "--heads", "2", "--eval-chars", "500", "--lr", "0.01", "--warmup", "2"]);
  assert.equal(code, 0);
  assert.match(lines[0], /flint train charlm: transformer on .*input.txt \(20000 characters\), 20 steps of 4 x 16, AdamW lr 0.01, seed 0/);
  assert.match(lines[lines.length - 1], /^done: val_loss \d\.\d{4} nats\/char/);
});

test("help and bad arguments give clear errors", async () => {
  const help = await run(trainCharlmCommand, ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.lines[0], /--model transformer\): nanoGPT's Tiny/);
  assert.match(help.lines[0], /--steps <n>/);
  const bad: [string[], RegExp][] = [
    [["--steps", "10"], /train charlm: --data FILE is required/],
    [["--data", shakespeare, "--model", "cnn"], /unknown model "cnn" \(choose one of: lstm, gru, rnn, transformer\)/],
    [["--data", shakespeare, "--steps", "ten"], /--steps expects an integer, got "ten"/],
    [["--data", join(work, "missing.txt")], /cannot read --data .*missing.txt/],
    [["--data", shakespeare, "--limit", "2000", "--steps", "0"], /steps must be a positive integer, got 0/],
    [["--data", shakespeare, "--limit", "2000", "--model", "transformer", "--heads", "3"], /embedDim \(128\) must be divisible by numHeads \(3\)/],
    [["--data", shakespeare, "extra"], /unexpected argument "extra"/],
  ];
  for (const [argv, message] of bad) await assert.rejects(trainCharlmCommand(argv, () => {}), message);
  const plain = join(work, "plain.safetensors");
  flint.save({ w: flint.ones([2]) }, plain);
  const badGenerate: [string[], RegExp][] = [
    [[], /generate: --checkpoint PATH is required/],
    [["--checkpoint", plain], /is not a character-model checkpoint/],
    [["--checkpoint", join(work, "none.safetensors")], /none.safetensors/],
    [["--checkpoint", plain, "--temperature", "-1"], /--temperature must be >= 0, got -1/],
    [["--checkpoint", plain, "--top-k", "0"], /--top-k must be at least 1, got 0/],
  ];
  for (const [argv, message] of badGenerate) await assert.rejects(generateCommand(argv, () => {}), message);
  const notText = join(work, "short.txt");
  writeFileSync(notText, "ab");
  await assert.rejects(trainCharlmCommand(["--data", notText], () => {}), /charCorpus: the text is too short to train on \(2 characters\)/);
});
