// Runs the API tour in README.md exactly as written, so the README cannot drift from the code.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers.js";

test("the README tour runs and prints what its comments say", () => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const block = /<!-- tour:start -->\s*```js\n([\s\S]*?)```\s*<!-- tour:end -->/.exec(readme);
  assert.ok(block, "README.md has a tour block between <!-- tour:start --> and <!-- tour:end -->");
  // The tour imports "flint": a file inside the package resolves that to this package (self-reference).
  const dir = mkdtempSync(join(repoRoot, "dist", "readme-tour-"));
  try {
    const file = join(dir, "tour.mjs");
    writeFileSync(file, block[1]);
    const run = spawnSync(process.execPath, [file], { encoding: "utf8", cwd: repoRoot });
    assert.equal(run.status, 0, `tour failed:\n${run.stderr}`);
    const lines = run.stdout.trim().split("\n");
    assert.equal(lines[0], "[ 3, 2 ]");
    assert.equal(lines[1], "[ 2, 3 ]");
    assert.equal(lines[2], "[ 'conv.weight', 'conv.bias', 'fc.weight', 'fc.bias' ]");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
