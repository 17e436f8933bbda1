// Speed of the JS reference backend: GEMM throughput and the per-op overhead of small ops.
//   npx tsc -p tsconfig.json && node dist/bench/js-core.js
// Prints medians; a program that reports numbers, not a test that fails on a slow machine.
// Each figure is given twice: from wall time, and from this process's CPU time (user + system),
// which is the steadier of the two on a machine shared with other work.
import * as flint from "../src/index.js";

flint.setBackend("js");

interface Timing {
  wall: number;
  cpu: number;
}

/** Median wall and CPU time of `fn` in milliseconds over at least `minReps` runs and about `budgetMs`. */
function median(fn: () => void, budgetMs: number, minReps: number): Timing {
  fn();
  fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  const start = performance.now();
  while (wall.length < minReps || performance.now() - start < budgetMs) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    if (wall.length >= 10_000) break;
  }
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
  return { wall: mid(wall), cpu: mid(cpu) };
}

/** Applies `f` to both timings and prints them as "wall / cpu". */
function show(t: Timing, f: (ms: number) => number, digits: number): string {
  return `${f(t.wall).toFixed(digits)} / ${f(t.cpu).toFixed(digits)}`;
}

function gemmGflops(n: number, minReps: number): string {
  const generator = new flint.Generator(n);
  const a = flint.randn([n, n], { generator });
  const b = flint.randn([n, n], { generator });
  return show(median(() => a.matmul(b), 2000, minReps), (ms) => (2 * n * n * n) / (ms * 1e6), 2);
}

/** One 64x64 training-style step: matmul, tanh, sum, backward. */
function smallStep(): string {
  const generator = new flint.Generator(64);
  const x = flint.randn([64, 64], { generator });
  const w = flint.randn([64, 64], { generator }).requiresGrad_();
  return show(median(() => {
    w.grad = null;
    x.matmul(w).tanh().sum().backward();
  }, 1500, 20), (ms) => ms, 3);
}

/** Time per op of a tiny elementwise add (the dispatch and allocation overhead). */
function tinyOpMicros(): string {
  const a = flint.randn([16]);
  const b = flint.randn([16]);
  const reps = 1000;
  return show(median(() => {
    for (let i = 0; i < reps; i++) a.add(b);
  }, 1000, 10), (ms) => (ms * 1000) / reps, 2);
}

/** Forward+backward per op in a chain of tiny recorded muls. */
function tinyBackwardMicros(): string {
  const x = flint.randn([16]).requiresGrad_();
  const reps = 500;
  return show(median(() => {
    let y = x;
    for (let i = 0; i < reps; i++) y = y.mul(1.0001);
    y.sum().backward();
    x.grad = null;
  }, 1000, 10), (ms) => (ms * 1000) / reps, 2);
}

/** The memory test's model: a 2-layer MLP step (16x32 batch) with in-place SGD. */
function mlpStep(): string {
  const generator = new flint.Generator(7);
  const x = flint.randn([16, 32], { generator });
  const target = flint.randn([16, 4], { generator });
  const params = [flint.randn([32, 32], { generator }).mul(0.1), flint.zeros([32]), flint.randn([32, 4], { generator }).mul(0.1), flint.zeros([4])].map((p) => p.requiresGrad_());
  const [w1, b1, w2, b2] = params;
  return show(median(() => {
    const loss = x.matmul(w1).add(b1).tanh().matmul(w2).add(b2).sub(target).square().mean();
    for (const p of params) p.grad = null;
    loss.backward();
    flint.noGrad(() => params.forEach((p) => p.sub_(p.grad!, { alpha: 0.05 })));
  }, 1500, 50), (ms) => ms, 3);
}

const rows: [string, string][] = [
  ["matmul 256x256 (GFLOPS)", gemmGflops(256, 20)],
  ["matmul 1024x1024 (GFLOPS)", gemmGflops(1024, 5)],
  ["64x64 matmul+tanh+sum+backward step (ms)", smallStep()],
  ["2-layer MLP train step, batch 16x32 (ms)", mlpStep()],
  ["tiny add [16]+[16] (us/op)", tinyOpMicros()],
  ["tiny recorded mul, forward+backward (us/op)", tinyBackwardMicros()],
];
const width = Math.max(...rows.map(([name]) => name.length));
console.log(`flint JS backend, node ${process.version}; medians, wall / cpu`);
for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
