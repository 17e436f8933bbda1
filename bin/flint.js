#!/usr/bin/env node
// The `flint` command. It runs the compiled CLI: build first with `npm run build`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";

/**
 * glibc's malloc settings for training (read once, at process start, so the command re-runs
 * itself with them). By default glibc gives freed multi-megabyte blocks back to the kernel, and
 * every new one then costs a page fault per 4 KiB page (1.6 us each on the 2-core VM): a LeNet
 * epoch step faulted ~1,000 times, ~2 ms of system time per step. With these, freed memory
 * stays in the process for the next result (~80 faults per step).
 */
const MALLOC_SETTINGS = {
  MALLOC_MMAP_THRESHOLD_: String(64 * 2 ** 20),
  MALLOC_TRIM_THRESHOLD_: String(256 * 2 ** 20),
  MALLOC_TOP_PAD_: String(64 * 2 ** 20),
};

function wantsMallocSettings() {
  if (process.platform !== "linux" || process.env.FLINT_MALLOC_TUNING === "0") return false;
  return Object.keys(MALLOC_SETTINGS).every((name) => process.env[name] === undefined);
}

/** Runs this command again with MALLOC_SETTINGS; its exit status, or null if it could not start. */
function rerunWithMallocSettings() {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)];
  const child = spawnSync(process.execPath, args, { stdio: "inherit", env: { ...process.env, ...MALLOC_SETTINGS } });
  if (child.error) return null;
  if (child.signal) return 128 + (constants.signals[child.signal] ?? 0);
  return child.status ?? 1;
}

async function run() {
  // Node 20 validates relaxed SIMD (the wasm backend's FMA kernels, ~1.8x faster GEMM) only behind
  // this flag; Node >= 22 has it on. It must be set before the wasm backend first compiles.
  setFlagsFromString("--experimental-wasm-relaxed-simd");

  const entry = new URL("../dist/src/cli/main.js", import.meta.url);
  if (!existsSync(fileURLToPath(entry))) {
    process.stderr.write("flint: the compiled CLI (dist/src/cli/main.js) is missing; run `npm run build` first\n");
    return 1;
  }
  const { main } = await import(entry.href);
  return main(process.argv.slice(2));
}

const status = wantsMallocSettings() ? rerunWithMallocSettings() : null;
process.exitCode = status ?? (await run());
