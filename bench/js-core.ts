// Speed of the JS reference backend: GEMM throughput and the per-op overhead of small ops.
//   npx tsc -p tsconfig.json && node dist/bench/js-core.js
// Prints medians; a program that reports numbers, not a test that fails on a slow machine.
import * as flint from "../src/index.js";

flint.setBackend("js");

/** Median wall time of `fn` in milliseconds over at least `minReps` runs and about `budgetMs`. */
function median(fn: () => void, budgetMs: number, minReps: number): number {
  fn();
  fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minReps || performance.now() - start < budgetMs) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
    if (times.length >= 10_000) break;
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

function gemmGflops(n: number, minReps: number): number {
  const generator = new flint.Generator(n);
  const a = flint.randn([n, n], { generator });
  const b = flint.randn([n, n], { generator });
  const ms = median(() => a.matmul(b), 2000, minReps);
  return (2 * n * n * n) / (ms * 1e6);
}

/** One 64x64 training-style step: matmul, tanh, sum, backward. */
function smallStep(): number {
  const generator = new flint.Generator(64);
  const x = flint.randn([64, 64], { generator });
  const w = flint.randn([64, 64], { generator }).requiresGrad_();
  return median(() => {
    w.grad = null;
    x.matmul(w).tanh().sum().backward();
  }, 1500, 20);
}

/** Time per op of a tiny elementwise add (the dispatch and allocation overhead). */
function tinyOpMicros(): number {
  const a = flint.randn([16]);
  const b = flint.randn([16]);
  const reps = 1000;
  return (median(() => {
    for (let i = 0; i < reps; i++) a.add(b);
  }, 1000, 10) * 1000) / reps;
}

/** Forward+backward per op in a chain of tiny recorded muls. */
function tinyBackwardMicros(): number {
  const x = flint.randn([16]).requiresGrad_();
  const reps = 500;
  return (median(() => {
    let y = x;
    for (let i = 0; i < reps; i++) y = y.mul(1.0001);
    y.sum().backward();
    x.grad = null;
  }, 1000, 10) * 1000) / reps;
}

/** The memory test's model: a 2-layer MLP step (16x32 batch) with in-place SGD. */
function mlpStep(): number {
  const generator = new flint.Generator(7);
  const x = flint.randn([16, 32], { generator });
  const target = flint.randn([16, 4], { generator });
  const params = [flint.randn([32, 32], { generator }).mul(0.1), flint.zeros([32]), flint.randn([32, 4], { generator }).mul(0.1), flint.zeros([4])].map((p) => p.requiresGrad_());
  const [w1, b1, w2, b2] = params;
  return median(() => {
    const loss = x.matmul(w1).add(b1).tanh().matmul(w2).add(b2).sub(target).square().mean();
    for (const p of params) p.grad = null;
    loss.backward();
    flint.noGrad(() => params.forEach((p) => p.sub_(p.grad!, { alpha: 0.05 })));
  }, 1500, 50);
}

const rows: [string, string][] = [
  ["matmul 256x256 (GFLOPS)", gemmGflops(256, 20).toFixed(2)],
  ["matmul 1024x1024 (GFLOPS)", gemmGflops(1024, 5).toFixed(2)],
  ["64x64 matmul+tanh+sum+backward step (ms)", smallStep().toFixed(3)],
  ["2-layer MLP train step, batch 16x32 (ms)", mlpStep().toFixed(3)],
  ["tiny add [16]+[16] (us/op)", tinyOpMicros().toFixed(2)],
  ["tiny recorded mul, forward+backward (us/op)", tinyBackwardMicros().toFixed(2)],
];
const width = Math.max(...rows.map(([name]) => name.length));
console.log(`flint JS backend, node ${process.version}`);
for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
