import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { loadCases, runCase } from "./conv-fixtures.js";

const { nn } = flint;
const F = nn.functional;

for (const c of loadCases("pool.json")) {
  test(`pool golden: ${c.name}`, () => runCase(c));
}

test("maxPool2d routes the gradient to the first of tied maxima", () => {
  const x = flint.tensor([[[[1, 1], [1, 1]]]], { requiresGrad: true });
  F.maxPool2d(x, 2).sum().backward();
  assert.deepEqual((x.grad as flint.Tensor).tolist(), [[[[1, 0], [0, 0]]]]);
});

test("pooling errors name the op and the shapes", () => {
  assert.throws(() => F.maxPool2d(flint.zeros([1, 1, 2, 2]), 3), /maxPool2d: input of shape \[1, 1, 2, 2\] is too small/);
  assert.throws(() => F.maxPool2d(flint.zeros([1, 1, 6, 6]), 2, { padding: 2 }), /maxPool2d: padding should be at most half of the kernel size/);
  assert.throws(() => F.avgPool2d(flint.zeros([4, 4]), 2), /avgPool2d: expected a 3-D .* or 4-D .* got shape \[4, 4\]/);
  assert.throws(() => F.logSumExpPool2d(flint.zeros([1, 1, 4, 4]), 2, { b: 0 }), /b must be a finite non-zero number/);
});

test("logSumExpPool2d lies between average and max pooling and approaches both", () => {
  const x = flint.randn([2, 3, 6, 6]);
  const avg = F.avgPool2d(x, 2);
  const max = F.maxPool2d(x, 2);
  const soft = F.logSumExpPool2d(x, 2, { b: 1 });
  assert.ok(soft.ge(avg.sub(1e-5)).all().item() && soft.le(max.add(1e-5)).all().item());
  assert.ok(F.logSumExpPool2d(x, 2, { b: 1e-3 }).allclose(avg, { atol: 1e-2 }));
  assert.ok(F.logSumExpPool2d(x, 2, { b: 1000 }).allclose(max, { atol: 1e-2 }));
  assert.equal(String(new nn.LogSumExpPool2d(2, { b: 3 })), "LogSumExpPool2d(kernel_size=2, stride=2, b=3.0)");
});

test("pooling passes a numerical gradient check", () => {
  const x = flint.randn([2, 2, 7, 6], { requiresGrad: true });
  assert.ok(flint.autograd.gradcheck((xi) => F.avgPool2d(xi, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), [x]));
  assert.ok(flint.autograd.gradcheck((xi) => F.logSumExpPool2d(xi, 2, { b: 2 }), [x]));
  assert.ok(flint.autograd.gradcheck((xi) => F.adaptiveAvgPool2d(xi, [3, 4]), [x]));
});

test("MaxPool2d with returnIndices gives values and plane indices", () => {
  const x = flint.arange(0, 16).float().reshape([1, 1, 4, 4]);
  const [values, indices] = new nn.MaxPool2d(2, { returnIndices: true }).forward(x);
  // Without returnIndices the forward is typed as a plain tensor.
  const plain: flint.Tensor = new nn.MaxPool2d(2).forward(x);
  assert.deepEqual(plain.tolist(), values.tolist());
  assert.deepEqual(values.tolist(), [[[[5, 7], [13, 15]]]]);
  assert.deepEqual(indices.tolist(), [[[[5, 7], [13, 15]]]]);
});

test("interpolate checks its arguments and names the op", () => {
  const x = flint.zeros([1, 1, 4, 4]);
  assert.throws(() => F.interpolate(x, {}), /interpolate: either size or scaleFactor should be defined/);
  assert.throws(() => F.interpolate(x, { size: 2, scaleFactor: 2 }), /only one of size or scaleFactor/);
  assert.throws(() => F.interpolate(x, { size: 8, mode: "linear" }), /mode "linear" needs a 3-D input, got shape \[1, 1, 4, 4\]/);
  assert.throws(() => F.interpolate(x, { size: 8, alignCorners: true }), /alignCorners only applies to the linear modes/);
  assert.deepEqual(F.interpolate(x, { scaleFactor: [2, 0.5] }).shape, [1, 1, 8, 2]);
  assert.equal(String(new nn.Upsample({ scaleFactor: 2, mode: "bilinear" })), "Upsample(scale_factor=2.0, mode=bilinear)");
});

test("bilinear interpolation passes a numerical gradient check", () => {
  const x = flint.randn([1, 2, 3, 4], { requiresGrad: true });
  assert.ok(flint.autograd.gradcheck((xi) => F.interpolate(xi, { size: [5, 7], mode: "bilinear", alignCorners: true }), [x]));
});
