// flint.save / flint.load on files: atomic replacement, clean errors naming the file, and no
// static Node imports in the io modules (they must load in browsers).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import * as flint from "../../src/index.js";
import { repoRoot } from "../helpers.js";
import { assertThrowsFlint } from "./io-helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "flint-io-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let folders = 0;
function freshFolder(): string {
  const folder = join(scratch, `case-${folders++}`);
  mkdirSync(folder);
  return folder;
}

test("flint.save writes a state dict that flint.load reads back, with metadata", () => {
  const folder = freshFolder();
  const file = join(folder, "model.safetensors");
  const state = { "fc.weight": flint.randn([3, 2]), "fc.bias": flint.zeros([3]), steps: flint.tensor(4, { dtype: "int32" }) };
  flint.save(state, file, { epoch: "4" });
  const loaded = flint.load(file);
  assert.deepEqual(Object.keys(loaded).sort(), ["fc.bias", "fc.weight", "steps"]);
  assert.deepEqual(loaded["fc.weight"].tolist(), state["fc.weight"].tolist());
  assert.equal(loaded.steps.item(), 4);
  assert.deepEqual(flint.io.loadWithMetadata(file).metadata, { epoch: "4" });
  assert.deepEqual(readFileSync(file), Buffer.from(flint.io.serializeSafetensors(state, { epoch: "4" })));
  assert.equal(flint.io.save, flint.save);
  assert.equal(flint.io.load, flint.load);
});

test("saving over an existing file replaces it whole and leaves no temporary file behind", () => {
  const folder = freshFolder();
  const file = join(folder, "ckpt.safetensors");
  for (let version = 0; version < 5; version++) {
    flint.save({ w: flint.full([1000 * (version + 1)], version) }, file);
    const w = flint.load(file).w;
    assert.equal(w.numel(), 1000 * (version + 1));
    assert.equal(w.max().item(), version);
    assert.deepEqual(readdirSync(folder), ["ckpt.safetensors"]);
  }
});

test("saving keeps the replaced file's permissions, and writes through a symlink to its target", () => {
  const folder = freshFolder();
  const real = join(folder, "real.safetensors");
  const link = join(folder, "link.safetensors");
  flint.save({ a: flint.ones([2]) }, real);
  chmodSync(real, 0o640);
  symlinkSync(real, link);
  flint.save({ a: flint.full([3], 7) }, link);
  assert.ok(lstatSync(link).isSymbolicLink(), "the link is still a link");
  assert.equal(statSync(real).mode & 0o777, 0o640);
  assert.deepEqual(flint.load(real).a.tolist(), [7, 7, 7]);
  assert.deepEqual(readdirSync(folder).sort(), ["link.safetensors", "real.safetensors"]);
});

test("a failed save names the file, leaves the old file intact and no temporary file", () => {
  const folder = freshFolder();
  const file = join(folder, "keep.safetensors");
  flint.save({ a: flint.ones([2]) }, file);
  const before = readFileSync(file);
  // Invalid input fails before the file is touched.
  assertThrowsFlint(() => flint.save({ a: [1, 2] } as never, file), /^save: entry "a" is not a Tensor/);
  assertThrowsFlint(() => flint.save({ a: flint.ones([1]) }, file, { n: 1 } as never), /^save: metadata must map strings to strings/);
  assertThrowsFlint(() => flint.save({ a: flint.ones([1]) }, "" as never), /^save: expected a file path \(non-empty string\), got an empty string$/);
  // The target is a directory: the rename fails, and the temporary file is removed.
  mkdirSync(join(folder, "dir.safetensors"));
  assertThrowsFlint(() => flint.save({ a: flint.ones([1]) }, join(folder, "dir.safetensors")), /^save: cannot write ".*dir\.safetensors": /);
  // A missing directory.
  assertThrowsFlint(() => flint.save({ a: flint.ones([1]) }, join(folder, "missing", "x.safetensors")), /^save: cannot write ".*missing\/x\.safetensors": ENOENT/);
  assert.deepEqual(readFileSync(file), before);
  assert.deepEqual(readdirSync(folder).sort(), ["dir.safetensors", "keep.safetensors"]);
  assert.deepEqual(readdirSync(join(folder, "dir.safetensors")), []);
});

test("load names the file when it cannot be read", () => {
  const missing = join(freshFolder(), "nope.safetensors");
  assertThrowsFlint(() => flint.load(missing), /^load: cannot read ".*nope\.safetensors": ENOENT/);
  assertThrowsFlint(() => flint.load(42 as never), /^load: expected a file path \(non-empty string\), got number$/);
  const notSafetensors = join(freshFolder(), "notes.txt");
  writeFileSync(notSafetensors, "hello, this is not a checkpoint");
  assertThrowsFlint(() => flint.load(notSafetensors), /^load: ".*notes\.txt": header length \d+ exceeds the 100000000-byte limit/);
});

test("without process.getBuiltinModule (a browser, old Node), save and load explain themselves", () => {
  const proc = process as { getBuiltinModule?: unknown };
  const original = proc.getBuiltinModule;
  proc.getBuiltinModule = undefined;
  try {
    assertThrowsFlint(() => flint.load("x.safetensors"), /^load: reading and writing files needs Node\.js >= 20\.16 .* use flint\.io\.serializeSafetensors/);
    assertThrowsFlint(() => flint.save({}, "x.safetensors"), /^save: reading and writing files needs Node\.js >= 20\.16/);
  } finally {
    proc.getBuiltinModule = original;
  }
});

test("the io modules import nothing from Node statically (they load in browsers)", () => {
  const folder = join(repoRoot, "dist", "src", "io");
  const modules = readdirSync(folder).filter((f) => f.endsWith(".js"));
  assert.ok(modules.length >= 4);
  for (const module of modules) {
    const source = readFileSync(join(folder, module), "utf8");
    assert.doesNotMatch(source, /from\s+["'](node:)?(fs|path|os|crypto|process)["']|require\(|import\(["']node:/, module);
  }
});

// ---- crashes and concurrent readers, with a second process ---------------------------------

const ELEMENTS = 1 << 18; // 1 MiB per checkpoint: big enough that a non-atomic write is seen half-done

/**
 * Starts a node process that saves versions 1 and 2 of a checkpoint over `file` in turn, until
 * `stopFile` exists (or forever, until killed, when there is none).
 */
function startSaver(file: string, stopFile: string | null): ReturnType<typeof spawn> {
  const code = `
    const flint = await import(${JSON.stringify(join(repoRoot, "dist", "src", "index.js"))});
    const { existsSync } = await import("node:fs");
    const stopFile = ${JSON.stringify(stopFile)};
    const versions = [1, 2].map((v) => ({ w: flint.full([${ELEMENTS}], v), tag: flint.tensor([v], { dtype: "int32" }) }));
    process.stdout.write("ready\\n");
    for (let i = 0; stopFile === null || !existsSync(stopFile); i++) flint.save(versions[i % 2], ${JSON.stringify(file)}, { version: String(1 + (i % 2)) });
  `;
  return spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
}

function saveVersionOne(file: string): void {
  flint.save({ w: flint.full([ELEMENTS], 1), tag: flint.tensor([1], { dtype: "int32" }) }, file, { version: "1" });
}

function waitForLine(child: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`saver exited early with code ${code}`)));
  });
}

/** The file must hold one complete version: every element, the tag and the metadata agree. */
function assertCompleteVersion(file: string): number {
  const { tensors, metadata } = flint.io.loadWithMetadata(file);
  const version = tensors.tag.item();
  assert.ok(version === 1 || version === 2, `tag ${version}`);
  assert.equal(metadata.version, String(version));
  assert.equal(tensors.w.numel(), ELEMENTS);
  assert.equal(tensors.w.min().item(), version);
  assert.equal(tensors.w.max().item(), version);
  return version;
}

test("a reader running alongside repeated saves always sees a complete old or new file", async () => {
  const folder = freshFolder();
  const file = join(folder, "shared.safetensors");
  const stopFile = join(scratch, "stop-saver");
  saveVersionOne(file);
  const saver = startSaver(file, stopFile);
  const exited = new Promise<number | null>((resolve) => saver.once("exit", resolve));
  await waitForLine(saver);
  // Read until both versions were seen many times over (or a generous time limit on a busy machine).
  const seen = new Map<number, number>([[1, 0], [2, 0]]);
  const deadline = Date.now() + 20_000;
  try {
    while ((seen.get(1)! < 10 || seen.get(2)! < 10) && Date.now() < deadline) {
      const version = assertCompleteVersion(file);
      seen.set(version, seen.get(version)! + 1);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    writeFileSync(stopFile, ""); // also when an assertion failed, so the saver never outlives the test
  }
  assert.equal(await exited, 0);
  assert.ok(seen.get(1)! >= 10 && seen.get(2)! >= 10, `the reader saw version 1 ${seen.get(1)} and version 2 ${seen.get(2)} times`);
  assert.deepEqual(readdirSync(folder), ["shared.safetensors"], "a save that finished left no temporary file");
});

test("killing the saving process at random moments never leaves a broken checkpoint", async () => {
  const folder = freshFolder();
  const file = join(folder, "crash.safetensors");
  saveVersionOne(file);
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let round = 0; round < 4; round++) {
    const saver = startSaver(file, null);
    const exited = new Promise((resolve) => saver.once("exit", resolve));
    await waitForLine(saver);
    await new Promise((resolve) => setTimeout(resolve, 20 + random() * 120));
    saver.kill("SIGKILL"); // the saver is ours: started above, killed by its own handle
    await exited;
    assertCompleteVersion(file);
    // Only the checkpoint and (after a kill mid-write) temporary files may be there.
    for (const name of readdirSync(folder)) assert.match(name, /^(crash\.safetensors|\.crash\.safetensors\.\d+-[0-9a-z]+\.tmp)$/);
  }
});
