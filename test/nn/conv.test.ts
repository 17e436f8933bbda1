import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { loadCases, runCase } from "./conv-fixtures.js";

const { nn } = flint;
const F = nn.functional;

for (const c of loadCases("conv.json")) {
  test(`conv golden: ${c.name}`, () => runCase(c));
}

test("Conv2d names the layer and the shapes on a wrong channel count", () => {
  const conv = new nn.Conv2d(1, 6, 5);
  assert.throws(() => conv.forward(flint.zeros([64, 3, 28, 28])), {
    message: "Conv2d: expected input with 1 channels (shape [N, 1, H, W]), got [64, 3, 28, 28]",
  });
  assert.throws(() => conv.forward(flint.zeros([1, 28, 28, 1, 1])), /Conv2d: expected a 3-D \(unbatched \[C, H, W\]\) or 4-D/);
  assert.throws(() => conv.forward(flint.zeros([2, 1, 4, 28])), {
    message: "Conv2d: input of shape [2, 1, 4, 28] is too small: spatial size [4, 28] with padding [0, 0] is smaller than the effective kernel size 5 (kernel [5, 5], dilation [1, 1])",
  });
});

test("conv2d rejects an input smaller than the kernel, naming the sizes", () => {
  assert.throws(() => F.conv2d(flint.zeros([1, 1, 3, 3]), flint.zeros([1, 1, 5, 5])), /conv2d: input of shape \[1, 1, 3, 3\] is too small/);
  assert.throws(() => F.conv2d(flint.zeros([1, 2, 8, 8]), flint.zeros([4, 2, 3, 3]), { padding: "same", stride: 2 }), /padding="same" is not supported for strided/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /inChannels \(3\) must be divisible by groups \(2\)/);
});

test("conv2d takes the bias positionally or in the options", () => {
  const x = flint.randn([2, 3, 5, 5]);
  const w = flint.randn([4, 3, 3, 3]);
  const b = flint.randn([4]);
  const a = F.conv2d(x, w, b, { stride: 2 });
  const c = F.conv2d(x, w, { bias: b, stride: 2 });
  assert.ok(a.allclose(c));
  assert.deepEqual(a.shape, [2, 4, 2, 2]);
});

test("conv2d and convTranspose2d pass a numerical gradient check", () => {
  const x = flint.randn([2, 4, 5, 4], { requiresGrad: true });
  const w = flint.randn([6, 2, 3, 2], { requiresGrad: true });
  const b = flint.randn([6], { requiresGrad: true });
  assert.ok(flint.autograd.gradcheck((xi, wi, bi) => F.conv2d(xi, wi, bi, { stride: [2, 1], padding: 1, dilation: [1, 2], groups: 2 }), [x, w, b]));
  const wt = flint.randn([4, 3, 3, 3], { requiresGrad: true });
  assert.ok(flint.autograd.gradcheck((xi, wi) => F.convTranspose2d(xi, wi, { stride: 2, padding: 1, outputPadding: 1 }), [x, wt]));
});

test("Conv2d default init follows PyTorch's bounds and its state-dict keys", () => {
  flint.manualSeed(3);
  const conv = new nn.Conv2d(4, 8, 3);
  const bound = 1 / Math.sqrt(4 * 9);
  assert.deepEqual(Object.keys(conv.stateDict()), ["weight", "bias"]);
  assert.deepEqual(conv.weight.shape, [8, 4, 3, 3]);
  assert.ok(conv.weight.abs().max().item() <= bound);
  assert.ok((conv.bias as flint.Tensor).abs().max().item() <= bound);
  // A uniform draw over (-bound, bound) spreads: its std is bound/sqrt(3).
  assert.ok(Math.abs(conv.weight.std().item() - bound / Math.sqrt(3)) < 0.2 * bound);
  assert.deepEqual(Object.keys(new nn.Conv2d(1, 2, 3, { bias: false }).stateDict()), ["weight"]);
});
