#!/usr/bin/env node
// The `flint` command. It runs the compiled CLI: build first with `npm run build`.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";

// Node 20 validates relaxed SIMD (the wasm backend's FMA kernels, ~1.8x faster GEMM) only behind
// this flag; Node >= 22 has it on. It must be set before the wasm backend first compiles.
setFlagsFromString("--experimental-wasm-relaxed-simd");

const entry = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("flint: the compiled CLI (dist/src/cli/main.js) is missing; run `npm run build` first\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
