import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkAbcTune, isValidAbcTune, splitAbcTunes } from "../../src/apps/abc.js";
import { dataDir } from "../helpers.js";

const book = readFileSync(join(dataDir(), "irish-abc", "irish.abc"), "utf8");
const tunes = splitAbcTunes(book);
// "Alexander's", the book's first tune.
const first = tunes[0];

test("splitAbcTunes finds every tune of irish.abc, each starting at its X: line", () => {
  assert.equal(tunes.length, (book.match(/^X:/gm) ?? []).length);
  assert.ok(tunes.length > 800);
  for (const t of tunes) assert.match(t, /^X:\d+\n/);
  assert.match(first, /^X:1\nT:Alexander's\n/);
  assert.deepEqual(splitAbcTunes("junk before\nX:1\nK:D\nabc|\n\n\nX:2\nK:G\nGAB|"), ["X:1\nK:D\nabc|", "X:2\nK:G\nGAB|"]);
});

test("the validator accepts the real tunes of irish.abc", () => {
  const checks = tunes.map(checkAbcTune);
  for (let i = 0; i < 20; i++) assert.deepEqual(checks[i], { valid: true, problems: [] }, `tune ${i + 1}`);
  // A handful of the book's tunes are malformed (an inline "M:9/8" inside a music line, a blank
  // line inside a tune); abcjs warns about those, so they are rightly rejected.
  const validShare = checks.filter((c) => c.valid).length / checks.length;
  assert.ok(validShare > 0.99 && validShare < 1, `valid share ${validShare}`);
  const withInlineMeter = tunes.find((t) => /\nM:\d+\/\d+ [A-Ga-g]/.test(t));
  assert.ok(withInlineMeter !== undefined);
  assert.match(checkAbcTune(withInlineMeter).problems.join("\n"), /Expected top number of meter/);
});

test("the validator rejects corrupted tunes, naming the problem", () => {
  const lines = first.split("\n");
  const cases: [string, string, RegExp][] = [
    ["empty text", "", /X:<number>/],
    ["no X: line", lines.slice(1).join("\n"), /X:<number>/],
    ["X: without a number", first.replace("X:1", "X:one"), /X:<number>/],
    ["no K: line", lines.filter((l) => !l.startsWith("K:")).join("\n"), /key field K:/],
    ["K: not closing the header", first.replace("K:D Major\n", "K:D Major\nT:Again\n").replace("T:Again\n(3", "T:Again\nQ:1/4=120\n(3").replace("K:D Major\nT:Again", "T:Again\nK:D Major\nL:1/4"), /key field K:/],
    ["header only", lines.slice(0, 6).join("\n"), /no bar of notes/],
    ["rests only", "X:1\nK:D\nz4|z4|", /no bar of notes/],
    ["unclosed chord", first.replace("dAFA DFAd", "dAFA [DFAd"), /Expected '\]' to end the chords/],
    ["unknown characters", first.replace("fdcd FAdf", "fdcd F}Adf"), /Unknown character/],
    ["two tunes", `${first}\n\nX:2\nK:G\nGABc|`, /2 tunes/],
  ];
  for (const [name, text, problem] of cases) {
    const check = checkAbcTune(text);
    assert.equal(check.valid, false, name);
    assert.equal(isValidAbcTune(text), false, name);
    assert.match(check.problems.join("\n"), problem, name);
  }
});
