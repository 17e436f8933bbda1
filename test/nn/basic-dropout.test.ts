// Dropout, Dropout2d and DropConnect in training mode. Their masks come from flint's generator
// (not PyTorch's), so these tests check the defining properties instead of goldens: which
// elements survive, the 1/(1-p) scaling, the drop rate, the gradients, and reproducibility.
// Eval-mode behaviour is compared with PyTorch in basic-layers.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { assertClose } from "../helpers.js";

const { nn } = flint;
const F = nn.functional;

function values(t: Tensor): number[] {
  return Array.from(t.data() as Float32Array);
}

test("dropout zeroes about p of the elements and scales the rest by 1/(1-p); the gradient is the same mask", () => {
  flint.manualSeed(10);
  const x = flint.rand([100, 100]).add(0.5).requiresGrad_();
  const p = 0.3;
  const y = new nn.Dropout(p).forward(x);
  y.sum().backward();
  const xs = values(x);
  const ys = values(y);
  const gs = values(x.grad as Tensor);
  let dropped = 0;
  for (let i = 0; i < xs.length; i++) {
    if (ys[i] === 0) {
      dropped++;
      assert.equal(gs[i], 0);
    } else {
      assert.ok(Math.abs(ys[i] - xs[i] / (1 - p)) < 1e-6 * Math.abs(ys[i]));
      assert.ok(Math.abs(gs[i] - 1 / (1 - p)) < 1e-6);
    }
  }
  const rate = dropped / xs.length;
  assert.ok(Math.abs(rate - p) < 0.02, `drop rate ${rate}`);
});

test("dropout: eval, p = 0 and training: false return the input; p = 1 gives zeros", () => {
  const x = flint.randn([4, 5]);
  const drop = new nn.Dropout(0.5);
  drop.eval();
  assert.equal(drop.forward(x), x);
  assert.equal(F.dropout(x, { p: 0 }), x);
  assert.equal(F.dropout(x, { p: 0.9, training: false }), x);
  assert.ok(values(F.dropout(x, { p: 1 })).every((v) => v === 0));
  assert.throws(() => new nn.Dropout(-0.1), /Dropout: dropout probability has to be between 0 and 1, but got -0.1/);
});

test("dropout masks follow manualSeed and an explicit generator", () => {
  const x = flint.ones([50]);
  flint.manualSeed(3);
  const a = values(F.dropout(x));
  flint.manualSeed(3);
  const b = values(F.dropout(x));
  assert.deepEqual(a, b);
  const c = values(new nn.Dropout(0.5, { generator: new flint.Generator(9) }).forward(x));
  const d = values(new nn.Dropout(0.5, { generator: new flint.Generator(9) }).forward(x));
  assert.deepEqual(c, d);
  assert.notDeepEqual(a, values(F.dropout(x)), "successive calls draw new masks");
});

test("dropout2d drops whole channels of [N, C, H, W] and unbatched [C, H, W] inputs", () => {
  flint.manualSeed(11);
  const p = 0.4;
  const x = flint.rand([8, 50, 3, 3]).add(1);
  const y = new nn.Dropout2d(p).forward(x);
  const maps = y.reshape([400, 9]);
  const source = x.reshape([400, 9]);
  let droppedMaps = 0;
  for (let i = 0; i < 400; i++) {
    const row = values(maps.select(0, i));
    if (row.every((v) => v === 0)) droppedMaps++;
    else assertClose(maps.select(0, i), source.select(0, i).div(1 - p), { atol: 1e-6 });
  }
  assert.ok(Math.abs(droppedMaps / 400 - p) < 0.08, `channel drop rate ${droppedMaps / 400}`);
  const unbatched = F.dropout2d(flint.ones([30, 2, 2]), { p: 0.5 }).reshape([30, 4]);
  for (let c = 0; c < 30; c++) {
    const row = values(unbatched.select(0, c));
    assert.ok(row.every((v) => v === 0) || row.every((v) => v === 2), `channel ${c}: ${row}`);
  }
});

test("DropConnect drops weights (not activations) in training, shares the mask across the batch, and is the plain Linear in eval", () => {
  flint.manualSeed(12);
  const p = 0.25;
  const linear = new nn.Linear(40, 30);
  const layer = new nn.DropConnect(linear, p);
  assert.deepEqual(Object.keys(layer.stateDict()), ["linear.weight", "linear.bias"]);
  // With x = I, row i of the output is column i of the masked weight plus the bias.
  const out = layer.forward(flint.eye(40));
  const maskedWeight = out.sub(linear.bias as Tensor).t();
  const w = values(linear.weight);
  const m = values(maskedWeight);
  let dropped = 0;
  for (let i = 0; i < w.length; i++) {
    if (Math.abs(m[i]) < 1e-6) dropped++;
    else assert.ok(Math.abs(m[i] - w[i] / (1 - p)) < 1e-5, `weight ${i}: ${m[i]} vs ${w[i] / (1 - p)}`);
  }
  assert.ok(Math.abs(dropped / w.length - p) < 0.04, `weight drop rate ${dropped / w.length}`);
  // Gradients reach only the kept weights.
  layer.forward(flint.randn([5, 40])).sum().backward();
  const g = values(linear.weight.grad as Tensor);
  assert.ok(g.some((v) => v === 0) && g.some((v) => v !== 0));
  layer.eval();
  const x = flint.randn([3, 40]);
  assertClose(layer.forward(x), linear.forward(x), { atol: 0, rtol: 0 });
  assert.throws(() => new nn.DropConnect(new nn.ReLU() as never), /DropConnect: expected an nn.Linear layer to wrap/);
});
