import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { loadCases, runCase } from "./conv-fixtures.js";

const { nn } = flint;
const F = nn.functional;

for (const c of loadCases("norm.json")) {
  test(`norm golden: ${c.name}`, () => runCase(c));
}

test("BatchNorm2d keeps num_batches_tracked as an int32 buffer and counts training batches", () => {
  const bn = new nn.BatchNorm2d(3);
  assert.deepEqual(Object.keys(bn.stateDict()), ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]);
  assert.equal(bn.num_batches_tracked?.dtype, "int32");
  bn.forward(flint.randn([4, 3, 2, 2]));
  bn.forward(flint.randn([4, 3, 2, 2]));
  assert.equal(bn.num_batches_tracked?.item(), 2);
  bn.eval();
  bn.forward(flint.randn([4, 3, 2, 2]));
  assert.equal(bn.num_batches_tracked?.item(), 2);
});

test("normalization errors name the layer and the shapes", () => {
  assert.throws(() => new nn.BatchNorm2d(3).forward(flint.zeros([2, 4, 5, 5])), {
    message: "BatchNorm2d: expected input with 3 channels (shape [N, 3, H, W]), got [2, 4, 5, 5]",
  });
  assert.throws(() => new nn.BatchNorm2d(3).forward(flint.zeros([2, 3, 5])), /BatchNorm2d: expected 4D input/);
  assert.throws(() => new nn.BatchNorm1d(3).forward(flint.zeros([1, 3])), /batchNorm: expected more than 1 value per channel when training/);
  assert.throws(() => new nn.GroupNorm(3, 5), /numChannels \(5\) must be divisible by numGroups \(3\)/);
  assert.throws(() => new nn.LayerNorm([4, 5]).forward(flint.zeros([2, 5, 4])), /LayerNorm: expected input with shape \[\*, 4, 5\], got \[2, 5, 4\]/);
});

test("normalizations pass a numerical gradient check", () => {
  const x = flint.randn([3, 4, 3, 2], { requiresGrad: true });
  const w = flint.randn([4], { requiresGrad: true });
  const b = flint.randn([4], { requiresGrad: true });
  assert.ok(flint.autograd.gradcheck((xi, wi, bi) => F.batchNorm(xi, null, null, { weight: wi, bias: bi, training: true }), [x, w, b]));
  assert.ok(flint.autograd.gradcheck((xi, wi, bi) => F.groupNorm(xi, 2, { weight: wi, bias: bi }), [x, w, b]));
  assert.ok(flint.autograd.gradcheck((xi) => F.localResponseNorm(xi, 3, { alpha: 0.5 }), [x]));
  assert.ok(flint.autograd.gradcheck((xi) => F.localContrastNorm(xi, 3), [x]));
});

test("LocalContrastNorm gives zero-mean windows and a PyTorch-style repr", () => {
  const y = new nn.LocalContrastNorm(3).forward(flint.randn([1, 2, 6, 6]).mul(5).add(3));
  assert.ok(Math.abs(y.mean().item()) < 0.5);
  assert.equal(String(new nn.LocalContrastNorm(5)), "LocalContrastNorm(5, eps=0.0001)");
});
