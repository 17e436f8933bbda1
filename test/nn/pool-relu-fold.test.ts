// Max pooling over a ReLU's output folds the ReLU's backward into its own (src/autograd/relu-fold.ts):
// the gradients must be exactly those of the unfolded ops, on both backends, for every pooling
// geometry, ties, all-negative windows and NaN; the ReLU output's own gradient must stay the true
// one whenever someone observes it; and the separate ReLU backward pass must actually be skipped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backend } from "../../src/backend/registry.js";
import * as flint from "../../src/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";

const F = flint.nn.functional;

interface Geometry {
  kernel: number;
  stride: number;
  padding: number;
  dilation: number;
  ceilMode: boolean;
}

const GEOMETRIES: Geometry[] = [
  { kernel: 2, stride: 2, padding: 0, dilation: 1, ceilMode: false },
  { kernel: 3, stride: 1, padding: 1, dilation: 1, ceilMode: false }, // overlapping windows
  { kernel: 3, stride: 2, padding: 1, dilation: 2, ceilMode: true },
];

/** Values with exact ties, zeros, all-negative windows and a NaN, large enough for the wasm kernels. */
function input(seed: number): Tensor {
  flint.manualSeed(seed);
  const x = flint.randn([8, 8, 48, 44]).mul(2).round().div(2); // many ties (and enough elements for 2 threads on wasm)
  const values = x.data() as Float32Array;
  values.fill(-1, 0, 60); // a run of negative rows in the first plane
  values[100] = Number.NaN;
  return flint.tensor(Array.from(values)).reshape([8, 8, 48, 44]);
}

/** d(sum(weights * maxPool(relu(y))))/dy, with the fold (relu output pooled directly) or without (relu output passed through an identity first). */
function gradients(y0: Tensor, geometry: Geometry, fold: boolean): { dy: Float32Array; reluBackwards: number } {
  const y = y0.clone().requiresGrad_();
  const { kernel, ...options } = geometry;
  let activated = F.relu(y);
  if (!fold) activated = activated.mul(1);
  const pooled = F.maxPool2d(activated, kernel, options);
  flint.manualSeed(3);
  const weights = flint.randn(pooled.shape as number[]);
  const be = backend();
  const binary = be.binary;
  let reluBackwards = 0;
  be.binary = (op, ...rest) => {
    if (op === "reluBackward") reluBackwards++;
    return binary.call(be, op, ...rest);
  };
  try {
    pooled.mul(weights).sum().backward();
  } finally {
    be.binary = binary;
  }
  return { dy: y.grad!.data() as Float32Array, reluBackwards };
}

/** Runs `body` for every geometry on the given backend, restoring the previous backend after. */
function onBackend(name: "js" | "wasm", body: (geometry: Geometry, i: number) => void): void {
  const previous = flint.getBackend();
  flint.setBackend(name);
  try {
    GEOMETRIES.forEach(body);
  } finally {
    flint.setBackend(previous);
  }
}

for (const name of ["js", "wasm"] as const) {
  test(`${name}: max pooling folds the ReLU backward, with exactly the unfolded gradients`, () => {
    onBackend(name, (geometry, i) => {
      const y = input(10 + i);
      const folded = gradients(y, geometry, true);
      const unfolded = gradients(y, geometry, false);
      assert.equal(folded.reluBackwards, 0, `geometry ${i}: the ReLU backward pass is skipped`);
      assert.equal(unfolded.reluBackwards, 1, `geometry ${i}: without the fold it runs`);
      assert.deepEqual(folded.dy, unfolded.dy, `geometry ${i}: dy`);
      assert.ok(folded.dy.some((v) => v !== 0), `geometry ${i}: some gradient flows`);
    });
  });
}

test("the ReLU output's own gradient stays the true one when observed (retainGrad, autograd.grad, a second consumer)", () => {
  const y0 = input(20);
  const reference = (() => {
    const y = y0.clone().requiresGrad_();
    const x = F.relu(y).mul(1).retainGrad();
    F.maxPool2d(x, 2).sum().backward();
    return { dx: x.grad!.data(), dy: y.grad!.data() };
  })();
  // retainGrad: x.grad is unmasked, y.grad the same as without the fold.
  const y = y0.clone().requiresGrad_();
  const x = F.relu(y).retainGrad();
  F.maxPool2d(x, 2).sum().backward();
  assert.deepEqual(x.grad!.data(), reference.dx);
  assert.deepEqual(y.grad!.data(), reference.dy);
  // autograd.grad asking for x's gradient.
  const y2 = y0.clone().requiresGrad_();
  const x2 = F.relu(y2);
  const [dx] = flint.autograd.grad(F.maxPool2d(x2, 2).sum(), [x2]);
  assert.deepEqual(dx!.data(), reference.dx);
  // x also read by another op: the gradients add up, then the ReLU masks their sum.
  const y3 = y0.clone().requiresGrad_();
  const x3 = F.relu(y3);
  F.maxPool2d(x3, 2).sum().add(x3.mul(0.5).sum()).backward();
  const y4 = y0.clone().requiresGrad_();
  const x4 = F.relu(y4).mul(1);
  F.maxPool2d(x4, 2).sum().add(x4.mul(0.5).sum()).backward();
  assert.deepEqual(y3.grad!.data(), y4.grad!.data());
});

// relu(y) of a large op output is deferred (src/ops/deferred-relu.ts): max pooling pools relu(y)
// from y itself, and the ReLU's output is computed only if something reads it.

/** y as an op's output (deferral needs a recorded producer), its leaf, and maxPool2d(relu(y)) with indices. */
function pooledRelu(y0: Tensor, geometry: Geometry, materializeFirst: boolean) {
  const leaf = y0.clone().requiresGrad_();
  const y = leaf.mul(1);
  const activated = F.relu(y);
  if (materializeFirst) void activated.storage;
  const { kernel, ...options } = geometry;
  const [pooled, indices] = F.maxPool2d(activated, kernel, { ...options, returnIndices: true });
  flint.manualSeed(4);
  pooled.mul(flint.randn(pooled.shape as number[])).sum().backward();
  return { activated, pooled: pooled.data(), indices: indices.data(), dy: leaf.grad!.data() };
}

for (const name of ["js", "wasm"] as const) {
  test(`${name}: max pooling of a deferred ReLU equals pooling its computed output (values with their zero signs, indices, gradients), and never computes it`, () => {
    onBackend(name, (geometry, i) => {
      const y0 = input(30 + i);
      const deferred = pooledRelu(y0, geometry, false);
      const computed = pooledRelu(y0, geometry, true);
      assert.equal(deferred.activated.isMaterialized, false, `geometry ${i}: the ReLU output was never computed`);
      assert.deepStrictEqual(Buffer.from((deferred.pooled as Float32Array).buffer), Buffer.from((computed.pooled as Float32Array).buffer), `geometry ${i}: pooled values, bit for bit`);
      assert.deepEqual(deferred.indices, computed.indices, `geometry ${i}: indices`);
      assert.deepEqual(deferred.dy, computed.dy, `geometry ${i}: dy`);
      // Reading it afterwards computes relu(y) as it was.
      assert.deepEqual(deferred.activated.data(), F.relu(y0).data(), `geometry ${i}: the ReLU output, read late`);
    });
  });
}

test("a deferred ReLU output keeps the values of its input at the call, even when the input is overwritten in place under noGrad", () => {
  const y0 = input(40);
  const y = y0.clone().requiresGrad_().mul(1);
  const activated = F.relu(y);
  assert.equal(activated.isMaterialized, false);
  flint.noGrad(() => y.fill_(-3));
  assert.deepEqual(activated.data(), F.relu(y0).data());
  // Small outputs and leaves are computed at once.
  assert.equal(F.relu(flint.randn([4, 4]).requiresGrad_().mul(1)).isMaterialized, true);
  assert.equal(F.relu(y0).isMaterialized, true);
});
