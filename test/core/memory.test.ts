// API.md rule 7: a training loop that never frees anything keeps a flat heap. 20,000
// forward+backward steps of a 2-layer MLP with in-place SGD updates; the heap after a forced GC
// must not grow between the early and the late part of the run.
import assert from "node:assert/strict";
import { test } from "node:test";
import v8 from "node:v8";
import vm from "node:vm";
import * as flint from "../../src/index.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/** JS heap plus memory outside it (typed-array stores, WebAssembly memories), after a full GC. */
function heapAfterGc(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

// Runs on the default backend, the one users get (wasm where available, else js).
test(`20,000 training steps keep a flat memory profile without any freeing call [${flint.getBackend()}]`, () => {
  const generator = new flint.Generator(7);
  const x = flint.randn([16, 32], { generator });
  const target = flint.randn([16, 4], { generator });
  const w1 = flint.randn([32, 32], { generator }).mul(0.1).requiresGrad_();
  const b1 = flint.zeros([32], { requiresGrad: true });
  const w2 = flint.randn([32, 4], { generator }).mul(0.1).requiresGrad_();
  const b2 = flint.zeros([4], { requiresGrad: true });
  const params = [w1, b1, w2, b2];

  const step = (): number => {
    const hidden = x.matmul(w1).add(b1).tanh();
    const loss = hidden.matmul(w2).add(b2).sub(target).square().mean();
    for (const p of params) p.grad = null;
    loss.backward();
    flint.noGrad(() => {
      for (const p of params) p.sub_(p.grad!, { alpha: 0.05 });
    });
    return loss.item();
  };

  const steps = 20_000;
  const samples: number[] = [];
  let first = 0;
  let last = 0;
  for (let i = 0; i < steps; i++) {
    const loss = step();
    if (i === 0) first = loss;
    last = loss;
    if (i >= 2000 && i % 2000 === 0) samples.push(heapAfterGc());
  }
  samples.push(heapAfterGc());
  assert.ok(last < first * 0.5, `the model trains (loss ${first} -> ${last})`);
  // Early samples (after warm-up) against late ones: a leak of even one small tensor per step
  // (20,000 x ~100 bytes = 2 MB) would show; allow 1 MB of noise.
  const early = Math.max(...samples.slice(0, 3));
  const late = Math.min(...samples.slice(-3));
  const growth = late - early;
  assert.ok(growth < 1_000_000, `heap grew by ${(growth / 1e6).toFixed(2)} MB over ${steps} steps (samples ${samples.map((s) => (s / 1e6).toFixed(1)).join(", ")} MB)`);
});

test("a tensor kept after backward does not keep the graph's activations alive", () => {
  const generator = new flint.Generator(8);
  const w = flint.randn([256, 256], { generator }).mul(0.05).requiresGrad_();
  const x = flint.randn([512, 256], { generator });
  const kept: flint.Tensor[] = [];
  const before = heapAfterGc();
  for (let i = 0; i < 20; i++) {
    // five 512x256 activations (0.5 MB each) per step; only the scalar loss is kept
    const loss = x.matmul(w).tanh().matmul(w).tanh().square().mean();
    loss.backward();
    w.grad = null;
    kept.push(loss);
  }
  const growth = heapAfterGc() - before;
  assert.equal(kept.length, 20);
  // holding the graphs would be 20 steps x ~2.5 MB = 50 MB
  assert.ok(growth < 5_000_000, `heap grew by ${(growth / 1e6).toFixed(1)} MB while keeping 20 losses`);
});
