import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkAbcTune, splitAbcTunes } from "../../src/apps/abc.js";
import { trainMusicCommand } from "../../src/cli/music.js";
import { generateCommand } from "../../src/cli/generate.js";
import { dataDir } from "../helpers.js";

const irish = join(dataDir(), "irish-abc", "irish.abc");
const work = mkdtempSync(join(tmpdir(), "flint-music-cli-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

test("train music samples tunes into an .abc file and reports valid_fraction by the ABC rule", async () => {
  const output = join(work, "tunes.abc");
  const checkpoint = join(work, "music.safetensors");
  const lines: string[] = [];
  const argv = ["--data", irish, "--limit", "30000", "--steps", "30", "--batch-size", "8", "--block-size", "32", "--hidden-size", "48", "--eval-chars", "1000", "--tunes", "4", "--tune-length", "200", "--output", output, "--save", checkpoint, "--json"];
  assert.equal(await trainMusicCommand(argv, (line) => lines.push(line)), 0);
  const summary = JSON.parse(lines[lines.length - 1]);
  assert.equal(summary.model, "lstm");
  assert.equal(summary.sampled_tunes, 4);
  assert.ok(summary.val_loss < summary.first_loss, `val_loss ${summary.val_loss}, first loss ${summary.first_loss}`);
  // The reported fraction is exactly what the validator says about the written file.
  const written = splitAbcTunes(readFileSync(output, "utf8"));
  assert.equal(written.length, 4);
  for (const tune of written) assert.ok(tune.startsWith("X:") && tune.length <= 202, tune);
  assert.equal(summary.valid_fraction, written.filter((t) => checkAbcTune(t).valid).length / 4);
  assert.ok(summary.data_valid_fraction > 0.99 && summary.data_valid_fraction < 1);
  // The checkpoint continues a tune.
  const generated: string[] = [];
  assert.equal(await generateCommand(["--checkpoint", checkpoint, "--prompt", "X:1\nT:", "--length", "20"], (line) => generated.push(line)), 0);
  assert.equal(generated.join("\n").length, "X:1\nT:".length + 20);
});

test("train music rejects a file without tunes and bad options", async () => {
  const prose = join(work, "prose.txt");
  writeFileSync(prose, "no tunes here, just prose\n".repeat(20));
  await assert.rejects(trainMusicCommand(["--data", prose], () => {}), /train music: .*prose.txt holds no ABC tunes/);
  await assert.rejects(trainMusicCommand(["--data", irish, "--tunes", "0"], () => {}), /--tunes must be at least 1, got 0/);
  await assert.rejects(trainMusicCommand(["--data", irish, "--temperature", "-2"], () => {}), /--temperature must be >= 0, got -2/);
  await assert.rejects(trainMusicCommand([], () => {}), /--data FILE is required/);
  const help: string[] = [];
  assert.equal(await trainMusicCommand(["--help"], (line) => help.push(line)), 0);
  assert.match(help[0], /valid_fraction/);
});
