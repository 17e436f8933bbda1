// Random numbers: manualSeed reproducibility of every random function, and the distributions.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import type { Tensor } from "../../src/index.js";

const DRAWS: Record<string, () => Tensor> = {
  randn: () => flint.randn([3, 5]),
  rand: () => flint.rand([4, 2]),
  randint: () => flint.randint(-3, 9, [10]),
  randperm: () => flint.randperm(12),
  randnLike: () => flint.randnLike(flint.zeros([2, 3])),
  randLike: () => flint.randLike(flint.zeros([2, 3])),
  uniform_: () => flint.zeros([6]).uniform_(-2, 2),
  normal_: () => flint.zeros([6]).normal_(1, 3),
  normal_generator: () => flint.zeros([6]).normal_(0, 1, { generator: new flint.Generator(flint.randint(0, 1000, [1]).item()) }),
  // an odd count leaves a spare Box-Muller normal behind; reseeding must discard it
  randnOdd: () => flint.randn([3]),
};

test("manualSeed makes every random function reproducible", () => {
  for (const [name, draw] of Object.entries(DRAWS)) {
    flint.manualSeed(1234);
    const first = draw().tolist();
    const afterwards = draw().tolist();
    flint.manualSeed(1234);
    assert.deepEqual(draw().tolist(), first, `${name}: same seed, same values`);
    assert.deepEqual(draw().tolist(), afterwards, `${name}: the stream continues identically`);
    flint.manualSeed(4321);
    assert.notDeepEqual(draw().tolist(), first, `${name}: another seed, other values`);
  }
  // a whole sequence of mixed draws replays exactly
  const sequence = () => Object.values(DRAWS).map((draw) => draw().tolist());
  flint.manualSeed(7);
  const once = sequence();
  flint.manualSeed(7);
  assert.deepEqual(sequence(), once);
});

test("a Generator passed explicitly is independent of the global one", () => {
  const g1 = new flint.Generator(99);
  const a = flint.randn([5], { generator: g1 }).tolist();
  flint.manualSeed(0);
  flint.randn([100]);
  const g2 = new flint.Generator(99);
  assert.deepEqual(flint.randn([5], { generator: g2 }).tolist(), a);
  // state save and restore
  const state = g2.getState();
  const next = flint.rand([4], { generator: g2 }).tolist();
  g2.setState(state);
  assert.deepEqual(flint.rand([4], { generator: g2 }).tolist(), next);
  assert.equal(g2.seed(), 99);
});

test("gradcheck does not move the global random stream", () => {
  flint.manualSeed(5);
  const expected = flint.rand([3]).tolist();
  flint.manualSeed(5);
  const x = flint.randn([2], { generator: new flint.Generator(1) }).requiresGrad_();
  flint.autograd.gradcheck((a) => a.tanh(), [x]);
  assert.deepEqual(flint.rand([3]).tolist(), expected);
});

/** Kolmogorov-Smirnov distance between the samples and a CDF (applied to the sorted samples as a tensor). */
function ksDistance(samples: Float32Array, cdf: (sorted: Tensor) => Tensor): number {
  const sorted = Float32Array.from(samples).sort();
  const f = cdf(flint.tensor(sorted)).data();
  let d = 0;
  for (let i = 0; i < sorted.length; i++) {
    d = Math.max(d, Math.abs(f[i] - i / sorted.length), Math.abs((i + 1) / sorted.length - f[i]));
  }
  return d;
}

const normalCdf = (x: Tensor) => x.div(Math.SQRT2).erf().add(1).mul(0.5);

test("randn is standard normal: mean, variance, KS distance, independence", () => {
  flint.manualSeed(2024);
  const n = 100_000;
  const x = flint.randn([n]);
  const mean = x.mean().item();
  const variance = x.var().item();
  // standard errors: mean 1/sqrt(n) ~ 0.0032, variance sqrt(2/n) ~ 0.0045; allow ~4.5 sigma
  assert.ok(Math.abs(mean) < 0.015, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
  const skew = x.pow(3).mean().item();
  const kurtosis = x.pow(4).mean().item();
  assert.ok(Math.abs(skew) < 0.05, `skewness ${skew}`);
  assert.ok(Math.abs(kurtosis - 3) < 0.1, `kurtosis ${kurtosis}`);
  // KS at alpha = 0.001 rejects above 1.95 / sqrt(n); use a 20k subsample to keep the exact CDF cheap
  const sub = x.narrow(0, 0, 20_000).data() as Float32Array;
  const d = ksDistance(sub, normalCdf);
  assert.ok(d < 1.95 / Math.sqrt(sub.length), `KS distance ${d}`);
  // consecutive samples (including the two halves of each Box-Muller pair) are uncorrelated
  const a = x.narrow(0, 0, n - 1);
  const b = x.narrow(0, 1, n - 1);
  const correlation = a.mul(b).mean().item();
  assert.ok(Math.abs(correlation) < 0.015, `lag-1 correlation ${correlation}`);
});

test("rand is uniform on [0, 1); randint and randperm cover their ranges", () => {
  flint.manualSeed(11);
  const u = flint.rand([50_000]);
  assert.ok(u.min().item() >= 0 && u.max().item() < 1);
  assert.ok(Math.abs(u.mean().item() - 0.5) < 0.01);
  const d = ksDistance(u.narrow(0, 0, 20_000).data() as Float32Array, (v) => v.clamp(0, 1));
  assert.ok(d < 1.95 / Math.sqrt(20_000), `KS distance ${d}`);

  // a draw just below 1 must not round up to 1.0 in float32
  class NearOne extends flint.Generator {
    override random(): number {
      return 1 - 2 ** -30;
    }
  }
  assert.ok(flint.rand([4], { generator: new NearOne(0) }).max().item() < 1);
  assert.ok(flint.zeros([4]).uniform_(0, 1, { generator: new NearOne(0) }).max().item() < 1);

  const r = flint.randint(-3, 4, [7000]);
  assert.equal(r.dtype, "int32");
  const counts = new Map<number, number>();
  for (const v of r.data()) counts.set(v, (counts.get(v) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort((p, q) => p - q), [-3, -2, -1, 0, 1, 2, 3]);
  for (const c of counts.values()) assert.ok(Math.abs(c - 1000) < 150, `count ${c}`);
  assert.throws(() => flint.randint(3, 3, [2]), /randint: expected integers low < high, got low=3, high=3/);

  const p = flint.randperm(50);
  assert.equal(p.dtype, "int32");
  assert.deepEqual([...p.data()].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual([...p.data()], Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(flint.randperm(0).shape, [0]);
  const normal = flint.zeros([20_000]).normal_(2, 3);
  assert.ok(Math.abs(normal.mean().item() - 2) < 0.1 && Math.abs(normal.std().item() - 3) < 0.1);
  const uniform = flint.zeros([20_000]).uniform_(-2, 6);
  assert.ok(uniform.min().item() >= -2 && uniform.max().item() < 6 && Math.abs(uniform.mean().item() - 2) < 0.1);
});

test("fillUniformFloat32 is the randomFloat32 stream, and the generator goes on from where it stopped", () => {
  for (const length of [0, 1, 7, 10_000]) {
    const bulk = new flint.Generator(97);
    const single = new flint.Generator(97);
    const filled = new Float32Array(length);
    bulk.fillUniformFloat32(filled);
    const expected = Float32Array.from({ length }, () => single.randomFloat32());
    assert.deepEqual(filled, expected);
    assert.equal(bulk.random(), single.random(), `after ${length} draws`);
    assert.deepEqual(bulk.getState(), single.getState());
  }
});
