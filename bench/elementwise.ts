// `FLINT_NUM_THREADS=1 node dist/bench/elementwise.js`: the wasm elementwise kernels against the
// JS reference kernels per call, from tiny to large sizes, to place the sizes below which the
// wasm backend leaves an op to JS (MIN_SIZE_* in src/backend/wasm/elementwise.ts). Times are
// the process's CPU time per call (medians), which a busy machine disturbs less than wall time.
import { setFlagsFromString } from "node:v8";
import type { BinaryOp, UnaryOp } from "../src/backend/backend.js";
import { jsBackend } from "../src/backend/js/index.js";
import { binaryOn, unaryOn } from "../src/backend/wasm/elementwise.js";
import { wasmRuntime } from "../src/backend/wasm/runtime.js";
import { Layout } from "../src/core/layout.js";

setFlagsFromString("--experimental-wasm-relaxed-simd");

/** Median CPU microseconds per call of `fn`, over batches of calls. */
function cpuMicros(fn: () => void, size: number): number {
  const reps = Math.max(3, Math.floor(400_000 / size));
  const times: number[] = [];
  for (let batch = 0; batch < 11; batch++) {
    const start = process.cpuUsage();
    for (let r = 0; r < reps; r++) fn();
    const used = process.cpuUsage(start);
    times.push((used.user + used.system) / reps);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const random = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * Math.random());

const rt = wasmRuntime();
rt.waitForThreads();
console.log(`wasm runtime: ${rt.threads} threads, relaxed SIMD ${rt.relaxedSimd}`);
const unaryOps: UnaryOp[] = ["relu", "exp", "tanh", "erf", "gelu"];
const binaryOps: BinaryOp[] = ["mul", "geluBackward"];
for (const n of [16, 64, 256, 512, 1024, 2048, 16384, 131072, 393216]) {
  const a = random(n, -3, 3);
  const b = random(n, -3, 3);
  const l = Layout.contiguous([n]);
  const scalar = Layout.contiguous([]).expand([n]);
  const rows: [string, () => unknown, () => unknown][] = [
    ...binaryOps.map((op): [string, () => unknown, () => unknown] => [op, () => jsBackend.binary(op, a, l, b, l, "float32"), () => binaryOn(rt, op, a, l, b, l)]),
    ["mul by a scalar", () => jsBackend.binary("mul", a, l, b, scalar, "float32"), () => binaryOn(rt, "mul", a, l, b, scalar)],
    ...unaryOps.map((op): [string, () => unknown, () => unknown] => [op, () => jsBackend.unary(op, a, l, "float32"), () => unaryOn(rt, op, a, l)]),
  ];
  for (const [label, js, wasm] of rows) {
    const tj = cpuMicros(js, n);
    const tw = cpuMicros(wasm, n);
    console.log(`${label.padEnd(16)} n=${String(n).padStart(7)}  js ${tj.toFixed(2).padStart(9)} us  wasm ${tw.toFixed(2).padStart(9)} us  ${(tj / tw).toFixed(2)}x`);
  }
}
process.exit(0);
