// `node dist/bench/gemm-shapes.js [--budget-ms N]`: GFLOPS of the wasm GEMM on the shapes the training
// workloads run (FLINT_NUM_THREADS=1 for one thread). Every shape reaching about the same rate
// says the GEMM's packing and edges are not the bottleneck: the micro-kernel's 128-bit SIMD is.
import { setFlagsFromString } from "node:v8";
import * as flint from "../src/index.js";
import { wasmRuntime } from "../src/backend/wasm/runtime.js";
import { medianMs } from "./timing.js";

setFlagsFromString("--experimental-wasm-relaxed-simd");

// [label, M, K, N, which operands are transposed views]
const SHAPES: [string, number, number, number, "nn" | "nt" | "tn"][] = [
  ["square 1024", 1024, 1024, 1024, "nn"],
  ["Transformer MLP up x W^T", 768, 128, 512, "nt"],
  ["Transformer MLP down x W^T", 768, 512, 128, "nt"],
  ["Transformer dW = g^T x", 512, 768, 128, "tn"],
  ["LSTM input projection", 3200, 256, 1024, "nt"],
  ["LSTM dW_ih = g^T x", 1024, 3200, 256, "tn"],
  ["LSTM step h W_hh^T", 32, 256, 1024, "nt"],
  ["LeNet fc1", 64, 800, 500, "nt"],
  ["translator output layer", 237, 256, 4598, "nt"],
];

const budgetAt = process.argv.indexOf("--budget-ms");
const budgetMs = budgetAt >= 0 ? Number(process.argv[budgetAt + 1]) : 1500;
flint.setBackend("wasm");
const rt = wasmRuntime();
rt.waitForThreads();
console.log(`wasm GEMM, ${rt.threads} thread(s), relaxed SIMD ${rt.relaxedSimd}`);
for (const [label, m, k, n, kind] of SHAPES) {
  const a = kind === "tn" ? flint.randn([k, m]).t() : flint.randn([m, k]);
  const b = kind === "nt" ? flint.randn([n, k]).t() : flint.randn([k, n]);
  const ms = medianMs(() => a.matmul(b), budgetMs);
  console.log(`${label.padEnd(30)} [${m}x${k}] @ [${k}x${n}] ${ms.toFixed(2).padStart(8)} ms ${((2 * m * k * n) / ms / 1e6).toFixed(1).padStart(6)} GFLOPS`);
}
process.exit(0);
