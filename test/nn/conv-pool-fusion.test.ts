// A recorded convolution with a large output is deferred (src/ops/deferred-conv.ts) so that max
// pooling of it, or of its deferred ReLU, runs both in one backend call (conv2dMaxPool). The
// results must be exactly those of computing the convolution first, on both backends; the
// convolution's output must never be computed unless read; and when it is read late it must
// hold the values of the call, whatever was written since: an optimizer step on its weight,
// in-place writes to its input or to itself while its ReLU is pending.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backend } from "../../src/backend/registry.js";
import * as flint from "../../src/index.js";
import { withBackend } from "../helpers.js";
import type { Tensor } from "../../src/tensor/tensor.js";

const F = flint.nn.functional;

interface Case {
  batch: number;
  channels: number;
  size: number;
  outChannels: number;
  kernel: number;
  convPadding: number;
  pool: { kernel: number; stride: number; padding: number };
  relu: boolean;
}

const CASES: Case[] = [
  // LeNet's first layer (the direct convolution on wasm), with and without the ReLU.
  { batch: 16, channels: 1, size: 28, outChannels: 20, kernel: 5, convPadding: 0, pool: { kernel: 2, stride: 2, padding: 0 }, relu: true },
  { batch: 16, channels: 1, size: 28, outChannels: 20, kernel: 5, convPadding: 0, pool: { kernel: 2, stride: 2, padding: 0 }, relu: false },
  // Padded im2col convolution, overlapping padded pooling windows, odd sizes.
  { batch: 5, channels: 3, size: 23, outChannels: 32, kernel: 3, convPadding: 1, pool: { kernel: 3, stride: 2, padding: 1 }, relu: true },
];

function operands(c: Case, seed: number) {
  flint.manualSeed(seed);
  const x = flint.randn([c.batch, c.channels, c.size, c.size]);
  const weight = flint.randn([c.outChannels, c.channels, c.kernel, c.kernel]).mul(0.3).requiresGrad_();
  const bias = flint.randn([c.outChannels]).mul(0.1).requiresGrad_();
  return { x, weight, bias };
}

/** maxPool(relu?(conv2d(x))) with indices and the parameter gradients, computing the convolution first or not. */
function run(c: Case, seed: number, computeConvFirst: boolean) {
  const { x, weight, bias } = operands(c, seed);
  const y = F.conv2d(x, weight, bias, { padding: c.convPadding });
  if (computeConvFirst) void y.storage;
  const activated = c.relu ? F.relu(y) : y;
  const [pooled, indices] = F.maxPool2d(activated, c.pool.kernel, { stride: c.pool.stride, padding: c.pool.padding, returnIndices: true });
  flint.manualSeed(seed + 1);
  pooled.mul(flint.randn(pooled.shape as number[])).sum().backward();
  return { y, pooled: pooled.data() as Float32Array, indices: indices.data(), dw: weight.grad!.data(), db: bias.grad!.data() };
}

for (const name of ["js", "wasm"] as const) {
  test(`${name}: max pooling of a deferred convolution (or of its ReLU) equals pooling its computed output, and never computes it`, () => {
    withBackend(name, () => {
      CASES.forEach((c, i) => {
        let fusedCalls = 0;
        const be = backend();
        const fused = be.conv2dMaxPool;
        be.conv2dMaxPool = (...args) => {
          fusedCalls++;
          return fused.apply(be, args);
        };
        let deferred;
        try {
          deferred = run(c, 10 + i, false);
        } finally {
          be.conv2dMaxPool = fused;
        }
        const computed = run(c, 10 + i, true);
        assert.equal(fusedCalls, 1, `case ${i}: one fused call`);
        assert.equal(deferred.y.isMaterialized, false, `case ${i}: the convolution's output was never computed`);
        assert.deepStrictEqual(Buffer.from(deferred.pooled.buffer), Buffer.from(computed.pooled.buffer), `case ${i}: pooled values, bit for bit`);
        assert.deepEqual(deferred.indices, computed.indices, `case ${i}: indices`);
        assert.deepEqual(deferred.dw, computed.dw, `case ${i}: weight gradient`);
        assert.deepEqual(deferred.db, computed.db, `case ${i}: bias gradient`);
        // Read late, it is the convolution of the call.
        assert.deepEqual(deferred.y.data(), computed.y.data(), `case ${i}: the convolution's output, read late`);
      });
    });
  });
}

test("the wasm backend's fused convolution and pooling matches the JS backend's", () => {
  for (const [i, c] of CASES.entries()) {
    const js = withBackend("js", () => run(c, 20 + i, false));
    const wasm = withBackend("wasm", () => run(c, 20 + i, false));
    const maxError = js.pooled.reduce((m, v, k) => Math.max(m, Math.abs(v - wasm.pooled[k])), 0);
    assert.ok(maxError < 1e-4, `case ${i}: pooled values differ by ${maxError}`);
  }
});

/** LeNet's first layer on a leaf input, deferred: the convolution's output and what it should hold. */
function lenetConv(seed: number, inputRequiresGrad = false) {
  const c = CASES[0];
  const { x, weight, bias } = operands(c, seed);
  if (inputRequiresGrad) x.requiresGrad_();
  const expected = flint.noGrad(() => F.conv2d(x, weight, bias)).data();
  const y = F.conv2d(x, weight, bias);
  assert.equal(y.isMaterialized, false, "deferred");
  return { x, weight, bias, y, expected };
}

test("a deferred convolution read after an optimizer step on its weight holds the values from before the step", () => {
  const { weight, bias, y, expected } = lenetConv(30);
  F.maxPool2d(F.relu(y), 2).sum().backward();
  const optimizer = new flint.optim.SGD([weight, bias], { lr: 0.5, momentum: 0.9 });
  optimizer.step();
  assert.deepEqual(y.data(), expected);
});

test("a deferred convolution keeps the values of its input at the call: data written in place, a parameter an optimizer updates, an op's output written in place", () => {
  const data = lenetConv(31);
  flint.noGrad(() => data.x.fill_(2));
  assert.deepEqual(data.y.data(), data.expected);
  const parameter = lenetConv(32, true);
  F.maxPool2d(parameter.y, 2).sum().backward();
  new flint.optim.SGD([parameter.x], { lr: 0.5 }).step();
  assert.deepEqual(parameter.y.data(), parameter.expected);
  // An op's output is read in place (not copied), and computed before an in-place write.
  const { x, weight, bias } = operands(CASES[0], 33);
  const produced = x.requiresGrad_().mul(1);
  const expected = flint.noGrad(() => F.conv2d(produced, weight, bias)).data();
  const y = F.conv2d(produced, weight, bias);
  assert.equal(y.isMaterialized, false);
  flint.noGrad(() => produced.fill_(2));
  assert.equal(y.isMaterialized, true, "computed by the write");
  assert.deepEqual(y.data(), expected);
});

test("a storage read in place by many pending outputs keeps at most eight: the oldest are computed, with the values of their calls", () => {
  const { x, weight, bias } = operands(CASES[0], 36);
  const produced = x.requiresGrad_().mul(1); // read in place (an op's output), and it outlives the loop
  const expected = flint.noGrad(() => F.conv2d(produced, weight, bias)).data();
  const outputs = Array.from({ length: 12 }, () => F.conv2d(produced, weight, bias));
  assert.deepEqual(outputs.map((y) => y.isMaterialized), [...new Array(4).fill(true), ...new Array(8).fill(false)]);
  for (const y of [outputs[0], outputs[11]]) assert.deepEqual(y.data(), expected);
});

test("a ReLU still pending over a convolution computed later keeps its values when the convolution's output is overwritten in place", () => {
  const { x, weight, bias } = operands(CASES[0], 33);
  const y = F.conv2d(x, weight, bias);
  const activated = F.relu(y);
  const expected = flint.noGrad(() => F.relu(F.conv2d(x, weight, bias))).data();
  void y.storage; // computed while the ReLU is still pending
  assert.equal(activated.isMaterialized, false);
  flint.noGrad(() => y.fill_(-1));
  assert.deepEqual(activated.data(), expected);
});

test("only recorded convolutions with outputs large next to what they copy are deferred", () => {
  const { x, weight, bias } = operands(CASES[0], 34);
  assert.equal(F.conv2d(x, weight, bias).isMaterialized, false, "LeNet's first layer is deferred");
  assert.equal(flint.noGrad(() => F.conv2d(x, weight, bias)).isMaterialized, true, "not recorded");
  assert.equal(F.conv2d(x, weight.detach(), bias.detach()).isMaterialized, true, "nothing requires grad");
  assert.equal(F.conv2d(x.narrow(0, 0, 1), weight, bias).isMaterialized, true, "too small (11,520 elements)");
  // A weight as large as an eighth of the output or more is not worth copying at the call.
  flint.manualSeed(35);
  const big = flint.randn([64, 32, 5, 5]).requiresGrad_();
  assert.equal(F.conv2d(flint.randn([8, 32, 12, 12]), big).isMaterialized, true, "51,200 weights for a 32,768-element output");
});

// Max pooling's gradient going straight to a first layer's convolution is handed over unscattered
// (src/ops/deferred-pool-gradient.ts): the backend sums over the pooled outputs.

/** The parameter gradients of maxPool(relu?(conv2d(x))), with the convolution output's gradient observed (scattered) or not, and how often maxPoolBackward ran. */
function firstLayerGradients(c: Case, seed: number, observeConvGradient: boolean, inputRequiresGrad = false) {
  const { x, weight, bias } = operands(c, seed);
  if (inputRequiresGrad) x.requiresGrad_();
  const y = F.conv2d(x, weight, bias, { padding: c.convPadding });
  if (observeConvGradient) y.retainGrad();
  const activated = c.relu ? F.relu(y) : y;
  const pooled = F.maxPool2d(activated, c.pool.kernel, { stride: c.pool.stride, padding: c.pool.padding });
  flint.manualSeed(seed + 1);
  const weights = flint.randn(pooled.shape as number[]);
  const be = backend();
  const scatter = be.maxPoolBackward;
  let scatters = 0;
  be.maxPoolBackward = (...args) => {
    scatters++;
    return scatter.apply(be, args);
  };
  try {
    pooled.mul(weights).sum().backward();
  } finally {
    be.maxPoolBackward = scatter;
  }
  return { dw: weight.grad!.data() as Float32Array, db: bias.grad!.data() as Float32Array, dx: x.grad?.data() as Float32Array | undefined, dy: y.grad?.data(), scatters };
}

function assertClose(actual: Float32Array, expected: Float32Array, label: string): void {
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const error = actual.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
  assert.ok(error <= 1e-5 * Math.max(1, scale), `${label}: differs by ${error} (scale ${scale})`);
}

for (const name of ["js", "wasm"] as const) {
  test(`${name}: a first layer's weight and bias gradients from the unscattered pooling gradient equal the scattered ones`, () => {
    withBackend(name, () => {
      CASES.forEach((c, i) => {
        const unscattered = firstLayerGradients(c, 40 + i, false);
        const scattered = firstLayerGradients(c, 40 + i, true);
        assert.equal(scattered.scatters, 1, `case ${i}: observing the convolution's gradient scatters it`);
        if (name === "wasm" && c.convPadding === 0) assert.equal(unscattered.scatters, 0, `case ${i}: nothing scattered`);
        assertClose(unscattered.dw, scattered.dw, `case ${i}: weight gradient`);
        assertClose(unscattered.db, scattered.db, `case ${i}: bias gradient`);
        assert.ok(scattered.dy !== undefined && scattered.dy.some((v) => v !== 0), `case ${i}: the observed gradient`);
      });
    });
  });
}

test("an input that requires grad gets its gradient through the scattered pooling gradient", () => {
  const c = CASES[2];
  const withInput = firstLayerGradients(c, 50, false, true);
  const observed = firstLayerGradients(c, 50, true, true);
  assert.equal(withInput.scatters, 1);
  assert.deepEqual(withInput.dx, observed.dx);
  assert.deepEqual(withInput.dw, observed.dw);
});
