// `flint train sentiment` and `flint classify` end to end on a small UCI slice: the --json
// summary, --save then classify (text and OOV/empty input), and argument errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { classifyCommand, trainSentimentCommand } from "../../src/cli/sentiment.js";
import { UCI_FILES } from "../../src/apps/sentiment/index.js";
import { dataDir } from "../helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "flint-sentiment-cli-"));
const sliceDir = join(scratch, "uci");
mkdirSync(sliceDir);
for (const name of UCI_FILES) {
  const lines = readFileSync(join(dataDir(), "sentiment", "uci", name), "utf8").split("\n").slice(0, 250);
  writeFileSync(join(sliceDir, name), lines.join("\n") + "\n");
}

async function run(command: typeof trainSentimentCommand, argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await command(argv, (line) => lines.push(line));
  return { code, lines };
}

const checkpoint = join(scratch, "model.safetensors");

test("train sentiment --json: the last line holds dev_accuracy and train_seconds; --save writes a checkpoint", async () => {
  const { code, lines } = await run(trainSentimentCommand, ["--data", sliceDir, "--format", "uci", "--epochs", "4", "--lr", "0.005", "--min-freq", "1", "--save", checkpoint, "--json"]);
  assert.equal(code, 0);
  assert.equal(lines.length, 1, "--json prints only the summary on stdout");
  const summary = JSON.parse(lines[0]);
  assert.equal(summary.model, "cnn");
  assert.equal(summary.format, "uci");
  assert.equal(summary.lr, 0.005);
  assert.equal(summary.dev_samples, 150);
  assert.equal(summary.train_samples + summary.valid_samples, 600);
  assert.ok(summary.dev_accuracy > 0.6, `dev_accuracy ${summary.dev_accuracy}`);
  assert.ok(summary.train_seconds > 0);
  assert.ok(summary.best_epoch >= 1 && summary.best_epoch <= 4);
});

test("classify: label and probability per sentence, also for empty and unknown-word input", async () => {
  const { code, lines } = await run(classifyCommand, ["--checkpoint", checkpoint, "I love this phone, it is great", "", "xyzzy plugh"]);
  assert.equal(code, 0);
  assert.equal(lines.length, 3);
  for (const line of lines) assert.match(line, /^(positive|negative)\t(0\.[5-9]\d{3}|1\.0000)$/);
  const json = await run(classifyCommand, ["--checkpoint", checkpoint, "--json", "xyzzy plugh"]);
  const parsed = JSON.parse(json.lines[0]);
  assert.deepEqual(parsed.unknown_tokens, ["xyzzy", "plugh"]);
  assert.ok(Math.abs(parsed.probabilities.positive + parsed.probabilities.negative - 1) < 1e-6);
  assert.equal(parsed.probability, Math.max(parsed.probabilities.positive, parsed.probabilities.negative));
});

test("train sentiment / classify: bad arguments are clear errors", async () => {
  await assert.rejects(run(trainSentimentCommand, []), /--data DIR is required/);
  await assert.rejects(run(trainSentimentCommand, ["--data", sliceDir, "--model", "rnn"]), /unknown --model "rnn" \(choose one of: bilstm, cnn, transformer\)/);
  await assert.rejects(run(trainSentimentCommand, ["--data", sliceDir, "--format", "csv"]), /unknown --format "csv"/);
  await assert.rejects(run(trainSentimentCommand, ["--data", sliceDir]), /train\.tsv: no such file/);
  await assert.rejects(run(trainSentimentCommand, ["--data", sliceDir, "--format", "uci", "--epochs", "0"]), /--epochs must be at least 1, got 0/);
  await assert.rejects(run(classifyCommand, ["some text"]), /--checkpoint PATH is required/);
  await assert.rejects(run(classifyCommand, ["--checkpoint", checkpoint]), /give the text to classify/);
  await assert.rejects(run(classifyCommand, ["--checkpoint", join(scratch, "none.safetensors"), "text"]), /none\.safetensors/);
  const help = await run(trainSentimentCommand, ["--help"]);
  assert.match(help.lines[0], /Usage: flint train sentiment --data DIR/);
  assert.match(help.lines[0], /--valid-fraction/);
});
