// `node dist/bench/kernels.js`: each wasm kernel against the JS reference kernel on the shapes
// of the benchmark workloads, to decide where the wasm backend should take over.
import { setFlagsFromString } from "node:v8";
import { Layout } from "../src/core/layout.js";
import type { WindowGeometry } from "../src/backend/backend.js";
import { jsBackend } from "../src/backend/js/index.js";
import { wasmBackend } from "../src/backend/wasm/index.js";
import { wasmRuntime } from "../src/backend/wasm/runtime.js";
import { medianMs } from "./timing.js";

setFlagsFromString("--experimental-wasm-relaxed-simd");

function random(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

function windowCase(batch: number, channels: number, size: number, k: number, stride: number): WindowGeometry {
  const out = Math.floor((size - k) / stride) + 1;
  return { batch, channels, inHeight: size, inWidth: size, kernelHeight: k, kernelWidth: k, strideH: stride, strideW: stride, padH: 0, padW: 0, dilationH: 1, dilationW: 1, outHeight: out, outWidth: out, padValue: 0 };
}

const rt = wasmRuntime();
rt.waitForThreads();
console.log(`wasm runtime: ${rt.threads} threads, relaxed SIMD ${rt.relaxedSimd}`);

const rows: [string, () => void, () => void][] = [];
for (const [label, g] of [
  ["conv1 im2col [64,1,28,28] k5", windowCase(64, 1, 28, 5, 1)],
  ["conv2 im2col [64,20,12,12] k5", windowCase(64, 20, 12, 5, 1)],
  ["pool1 [64,20,24,24] k2 s2", windowCase(64, 20, 24, 2, 2)],
  ["pool2 [64,50,8,8] k2 s2", windowCase(64, 50, 8, 2, 2)],
] as const) {
  const xl = Layout.contiguous([g.batch, g.channels, g.inHeight, g.inWidth]);
  const x = random(xl.size);
  const L = g.outHeight * g.outWidth;
  const cl = Layout.contiguous([g.batch, g.channels * g.kernelHeight * g.kernelWidth, L]);
  const cols = random(cl.size);
  rows.push([`unfold ${label}`, () => jsBackend.unfold(x, xl, g), () => wasmBackend.unfold(x, xl, g)]);
  rows.push([`fold ${label}`, () => jsBackend.fold(cols, cl, g), () => wasmBackend.fold(cols, cl, g)]);
}
for (const [m, k, n] of [[20, 25, 576], [50, 500, 64], [64, 800, 500], [500, 64, 800], [64, 500, 10], [256, 256, 256]]) {
  const al = Layout.contiguous([1, m, k]);
  const bl = Layout.contiguous([1, k, n]);
  const a = random(al.size);
  const b = random(bl.size);
  rows.push([`matmul ${m}x${k} @ ${k}x${n}`, () => jsBackend.matmul(a, al, b, bl), () => wasmBackend.matmul(a, al, b, bl)]);
}
for (const [label, js, wasm] of rows) {
  const tj = medianMs(js, 300);
  const tw = medianMs(wasm, 300);
  console.log(`${label.padEnd(44)} js ${tj.toFixed(3).padStart(8)} ms  wasm ${tw.toFixed(3).padStart(8)} ms  ${(tj / tw).toFixed(2)}x`);
}
process.exit(0);
