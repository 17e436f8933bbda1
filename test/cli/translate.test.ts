import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trainTranslateCommand, translateCommand } from "../../src/cli/translate.js";
import { dataDir } from "../helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "flint-translate-cli-"));

function pairFile(count: number): string {
  const lines = readFileSync(join(dataDir(), "eng-fra", "fra.txt"), "utf8").split("\n").filter((l) => /^(I am|I'm|He is|You are|We are|They are) /.test(l));
  const file = join(scratch, "pairs.txt");
  writeFileSync(file, lines.slice(0, count).join("\n") + "\n");
  return file;
}

async function run(command: typeof trainTranslateCommand, argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  const code = await command(argv, (line) => lines.push(line));
  assert.equal(code, 0);
  return lines;
}

test("train translate --json reports bleu, train_seconds and pairs; translate reads the checkpoint", async () => {
  const data = pairFile(200);
  const model = join(scratch, "model.safetensors");
  const lines = await run(trainTranslateCommand, ["--data", data, "--epochs", "2", "--hidden", "16", "--save", model, "--json", "--beam", "2"]);
  assert.equal(lines.length, 1);
  const summary = JSON.parse(lines[0]);
  assert.equal(summary.pairs, 200);
  assert.equal(summary.train_pairs, 190);
  assert.equal(summary.test_pairs, 10);
  assert.equal(summary.attention, true);
  assert.equal(summary.beam, 2);
  assert.ok(summary.bleu >= 0 && summary.bleu <= 100);
  assert.ok(summary.train_seconds > 0);

  const svg = join(scratch, "attention.svg");
  const out = await run(translateCommand, ["--checkpoint", model, "I am cold.", "", "Zorglub blorp!", "--attention", svg]);
  assert.equal(out.length, 3);
  assert.equal(out[1], "");
  const drawing = readFileSync(svg, "utf8");
  assert.match(drawing, /^<svg /);
  assert.match(drawing, />zorglub<|>&lt;unk&gt;</);
  // One cell per (output step, source word): 3 source tokens ("<unk> <unk> !").
  const cells = (drawing.match(/<rect /g) ?? []).length;
  assert.ok(cells > 0 && cells % 3 === 0, `${cells} cells`);
  const beam = await run(translateCommand, ["--checkpoint", model, "--beam", "3", "i am cold ."]);
  assert.equal(beam.length, 1);
});

test("train translate --no-attention --reverse-source trains; translate refuses --attention for it", async () => {
  const data = pairFile(120);
  const model = join(scratch, "plain.safetensors");
  const lines = await run(trainTranslateCommand, ["--data", data, "--epochs", "1", "--hidden", "16", "--no-attention", "--reverse-source", "--save", model]);
  assert.match(lines[0], /no attention, reversed source/);
  assert.match(lines[lines.length - 1], /^done: test BLEU \d+\.\d\d on 6 held-out pairs/);
  assert.equal((await run(translateCommand, ["--checkpoint", model, "we are here ."])).length, 1);
  await assert.rejects(translateCommand(["--checkpoint", model, "--attention", join(scratch, "x.svg"), "hi"], () => {}), /trained without attention/);
});

test("bad data files and arguments are clear errors", async () => {
  const empty = join(scratch, "empty.txt");
  writeFileSync(empty, "");
  const noTab = join(scratch, "notab.txt");
  writeFileSync(noTab, "I am cold.\tJ'ai froid.\nI am hot. J'ai chaud.\n");
  const fewPairs = join(scratch, "few.txt");
  writeFileSync(fewPairs, "Go.\tVa !\n");
  const silent = () => {};
  await assert.rejects(trainTranslateCommand(["--data", join(scratch, "missing.txt")], silent), /no such file .*missing\.txt/);
  await assert.rejects(trainTranslateCommand(["--data", empty], silent), /empty\.txt is empty/);
  await assert.rejects(trainTranslateCommand(["--data", noTab], silent), /notab\.txt:2: expected English<TAB>French/);
  await assert.rejects(trainTranslateCommand(["--data", fewPairs], silent), /only 0 pair\(s\) pass the tutorial's filter/);
  await assert.rejects(trainTranslateCommand([], silent), /--data FILE is required/);
  await assert.rejects(trainTranslateCommand(["--data", noTab, "--beam", "0"], silent), /--beam must be a positive integer, got 0/);
  await assert.rejects(translateCommand(["hi"], silent), /--checkpoint PATH is required/);
  await assert.rejects(translateCommand(["--checkpoint", empty], silent), /give the English sentence/);
});

test("--help prints the usage", async () => {
  assert.match((await run(trainTranslateCommand, ["--help"]))[0], /Usage: flint train translate --data FILE/);
  assert.match((await run(translateCommand, ["--help"]))[0], /Usage: flint translate --checkpoint PATH/);
});
