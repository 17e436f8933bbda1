// nn.init against PyTorch: fan-in/fan-out and gains (goldens), the deterministic initialisers
// (eye, dirac, constant: goldens), and the statistics of the random ones (bounds and variances
// from PyTorch's formulas), plus the layers' default initialisation.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { assertClose, loadJsonFixture } from "../helpers.js";
import type { EncodedTensor } from "./basic-fixtures.js";

const { nn } = flint;
const init = nn.init;

interface InitGoldens {
  fans: { shape: number[]; fanIn: number; fanOut: number }[];
  gains: { nonlinearity: string; param: number | null; gain: number }[];
  eye: EncodedTensor;
  dirac: EncodedTensor;
  dirac_groups: EncodedTensor;
  dirac_5d: EncodedTensor;
  constant: EncodedTensor;
}
const golden = loadJsonFixture<InitGoldens>("nn_basic/init.json");

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  return { mean: t.mean().item(), std: t.std().item(), min: t.min().item(), max: t.max().item() };
}

test("fan-in and fan-out count the receptive field, as in PyTorch", () => {
  for (const { shape, fanIn, fanOut } of golden.fans) {
    assert.deepEqual(init.calculateFanInAndFanOut(flint.empty(shape)), [fanIn, fanOut], `shape ${shape}`);
  }
  assert.throws(() => init.calculateFanInAndFanOut(flint.empty([5])), /init: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions \(shape \[5\]\)/);
});

test("calculateGain matches PyTorch's table", () => {
  for (const { nonlinearity, param, gain } of golden.gains) {
    assert.ok(Math.abs(init.calculateGain(nonlinearity as Parameters<typeof init.calculateGain>[0], param ?? undefined) - gain) < 1e-12, `${nonlinearity}(${param})`);
  }
  assert.equal(init.calculateGain("leakyRelu", 0.2), init.calculateGain("leaky_relu", 0.2));
  assert.throws(() => init.calculateGain("swish" as never), /calculateGain: unsupported nonlinearity "swish"/);
});

test("eye, dirac and constant match PyTorch exactly", () => {
  assertClose(init.eye(flint.empty([3, 5])), golden.eye, { atol: 0, rtol: 0 });
  assertClose(init.dirac(flint.empty([4, 2, 3, 3])), golden.dirac, { atol: 0, rtol: 0 });
  assertClose(init.dirac(flint.empty([6, 2, 3]), { groups: 2 }), golden.dirac_groups, { atol: 0, rtol: 0 });
  assertClose(init.dirac(flint.empty([2, 3, 3, 1, 2])), golden.dirac_5d, { atol: 0, rtol: 0 });
  assertClose(init.constant(flint.empty([2, 3]), 0.25), golden.constant, { atol: 0, rtol: 0 });
  assert.deepEqual(init.ones(flint.empty([2])).tolist(), [1, 1]);
  assert.deepEqual(init.zeros(flint.ones([2])).tolist(), [0, 0]);
  assert.throws(() => init.eye(flint.empty([2, 2, 2])), /eye: only tensors with 2 dimensions are supported/);
  assert.throws(() => init.dirac(flint.empty([3, 3])), /dirac: only tensors with 3, 4, or 5 dimensions are supported/);
  assert.throws(() => init.dirac(flint.empty([3, 3, 3]), { groups: 2 }), /dirac: dim 0 \(3\) must be divisible by groups \(2\)/);
});

test("a dirac-initialised convolution weight copies channels (checked as a matmul over the kernel centre)", () => {
  const w = init.dirac(flint.empty([3, 3, 3, 3]));
  // The centre tap of each [out, in] kernel is the identity.
  assert.deepEqual(w.slice(null, null, 1, 1).tolist(), flint.eye(3).tolist());
  assert.equal(w.sum().item(), 3);
});

test("kaimingUniform: U(-b, b) with b = gain * sqrt(3 / fan), fan_in or fan_out", () => {
  flint.manualSeed(1);
  const w = init.kaimingUniform(flint.empty([256, 128]));
  const bound = Math.SQRT2 * Math.sqrt(3 / 128); // default: leaky_relu with a = 0, i.e. relu's gain
  const s = stats(w);
  assert.ok(s.max <= bound && s.min >= -bound, `within ±${bound}: [${s.min}, ${s.max}]`);
  assert.ok(s.max > 0.99 * bound && s.min < -0.99 * bound, "reaches the bound");
  assert.ok(Math.abs(s.std - bound / Math.sqrt(3)) < 0.01 * bound, `std ${s.std}`);
  assert.ok(Math.abs(s.mean) < 0.01 * bound);
  const out = stats(init.kaimingUniform(flint.empty([256, 128]), { mode: "fan_out", nonlinearity: "relu" }));
  const outBound = Math.SQRT2 * Math.sqrt(3 / 256);
  assert.ok(out.max <= outBound && out.max > 0.99 * outBound);
  // Linear's default: a = sqrt(5) gives bound 1/sqrt(fanIn).
  const lin = stats(init.kaimingUniform(flint.empty([64, 100]), { a: Math.sqrt(5) }));
  assert.ok(lin.max <= 0.1 && lin.max > 0.099 && lin.min >= -0.1);
  assert.throws(() => init.kaimingUniform(flint.empty([2, 2]), { mode: "fan_avg" as never }), /kaimingUniform: mode "fan_avg" not supported/);
});

test("kaimingNormal, xavierUniform, xavierNormal, uniform, normal and truncNormal follow their formulas", () => {
  flint.manualSeed(2);
  const kn = stats(init.kaimingNormal(flint.empty([200, 16, 3, 3]), { mode: "fan_out", nonlinearity: "tanh" }));
  const knStd = (5 / 3) / Math.sqrt(200 * 9);
  assert.ok(Math.abs(kn.std - knStd) < 0.02 * knStd && Math.abs(kn.mean) < 0.02 * knStd, `kaimingNormal std ${kn.std} vs ${knStd}`);
  const xu = stats(init.xavierUniform(flint.empty([300, 200]), { gain: 2 }));
  const xuBound = 2 * Math.sqrt(6 / 500);
  assert.ok(xu.max <= xuBound && xu.max > 0.99 * xuBound && xu.min >= -xuBound);
  const xn = stats(init.xavierNormal(flint.empty([300, 200])));
  assert.ok(Math.abs(xn.std - Math.sqrt(2 / 500)) < 0.02 * Math.sqrt(2 / 500));
  const u = stats(init.uniform(flint.empty([10000]), { a: -3, b: 5 }));
  assert.ok(u.min >= -3 && u.max < 5 && Math.abs(u.mean - 1) < 0.1);
  const n = stats(init.normal(flint.empty([20000]), { mean: 3, std: 0.5 }));
  assert.ok(Math.abs(n.mean - 3) < 0.02 && Math.abs(n.std - 0.5) < 0.02);
  const tn = stats(init.truncNormal(flint.empty([20000]), { std: 2, a: -1, b: 3 }));
  assert.ok(tn.min >= -1 && tn.max <= 3);
  assert.throws(() => init.uniform(flint.empty([2]), { a: 2, b: 1 }), /uniform: expected a <= b, got a=2, b=1/);
  assert.throws(() => init.normal(flint.empty([2]), { std: -1 }), /normal: std must be non-negative/);
  assert.throws(() => init.uniform(flint.zeros([2], { dtype: "int32" })), /uniform: expected a float32 tensor, got int32/);
});

test("orthogonal gives orthonormal rows or columns, scaled by gain", () => {
  flint.manualSeed(3);
  const wide = init.orthogonal(flint.empty([4, 7]));
  assertClose(wide.matmul(wide.t()), flint.eye(4), { atol: 1e-5 });
  const tall = init.orthogonal(flint.empty([9, 3]), { gain: 2 });
  assertClose(tall.t().matmul(tall), flint.eye(3).mul(4), { atol: 1e-5 });
  const conv = init.orthogonal(flint.empty([4, 2, 3])).reshape([4, 6]);
  assertClose(conv.matmul(conv.t()), flint.eye(4), { atol: 1e-5 });
  const square = init.orthogonal(flint.empty([5, 5]));
  assertClose(square.matmul(square.t()), flint.eye(5), { atol: 1e-5 });
  assert.throws(() => init.orthogonal(flint.empty([3])), /orthogonal: only tensors with 2 or more dimensions are supported/);
});

test("initialisers follow the seed or an explicit generator, and work on parameters without noGrad", () => {
  flint.manualSeed(42);
  const a = init.kaimingUniform(flint.empty([3, 4])).tolist();
  flint.manualSeed(42);
  const b = init.kaimingUniform(flint.empty([3, 4])).tolist();
  assert.deepEqual(a, b);
  const g1 = new flint.Generator(7);
  const g2 = new flint.Generator(7);
  assert.deepEqual(init.normal(flint.empty([5]), { generator: g1 }).tolist(), init.normal(flint.empty([5]), { generator: g2 }).tolist());
  const p = new nn.Parameter(flint.empty([3, 3]));
  init.xavierUniform(p);
  init.orthogonal(p);
  init.eye(p);
  assert.equal(p.requiresGrad, true);
  assert.deepEqual(p.tolist(), flint.eye(3).tolist());
});

test("layers' default init matches PyTorch's reset_parameters", () => {
  flint.manualSeed(5);
  const lin = new nn.Linear(400, 300);
  const w = stats(lin.weight);
  const bound = 1 / Math.sqrt(400);
  assert.ok(w.max <= bound && w.max > 0.99 * bound && w.min >= -bound, "weight ~ U(-1/sqrt(in), 1/sqrt(in))");
  assert.ok(Math.abs(w.std - bound / Math.sqrt(3)) < 0.01 * bound);
  const bias = stats(lin.bias as Tensor);
  assert.ok(bias.max <= bound && bias.min >= -bound && bias.max > 0.9 * bound);
  const bil = new nn.Bilinear(50, 20, 30);
  const bb = 1 / Math.sqrt(50);
  assert.ok(stats(bil.weight).max <= bb && stats(bil.weight).max > 0.99 * bb && stats(bil.bias as Tensor).min >= -bb);
  const emb = new nn.Embedding(200, 50, { paddingIdx: 3 });
  const e = stats(emb.weight);
  assert.ok(Math.abs(e.mean) < 0.03 && Math.abs(e.std - 1) < 0.03, `Embedding ~ N(0, 1): ${e.mean}, ${e.std}`);
  assert.deepEqual(emb.weight.select(0, 3).tolist(), new Array(50).fill(0), "padding row is zero");
  assert.deepEqual(new nn.PReLU({ numParameters: 2 }).weight.tolist(), [0.25, 0.25].map(Math.fround));
  // Re-initialising draws new values from the generator.
  const before = lin.weight.clone();
  lin.resetParameters();
  assert.equal(lin.weight.equal(before), false);
  // Zero-size layers are allowed (init is a no-op, as in PyTorch).
  assert.deepEqual(new nn.Linear(0, 3).weight.shape, [3, 0]);
});
