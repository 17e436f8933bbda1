import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as flint from "../../src/index.js";
import { assertClose, loadJsonFixture, type Golden } from "../helpers.js";

const { utils } = flint.nn;
type Tensor = flint.Tensor;

interface ClipCase {
  maxNorm: number;
  normType: number | "inf";
  total: number;
  clipped: Golden[];
}
const fx = loadJsonFixture<{ grads: Golden[]; clip: ClipCase[] }>("loss/losses.json");
const fromGolden = (g: Golden): Tensor => flint.tensor(g.data).reshape(g.shape);

function paramsWithGrads(): Tensor[] {
  return fx.grads.map((g) => {
    const p = flint.zerosLike(fromGolden(g)).requiresGrad_();
    p.grad = fromGolden(g);
    return p;
  });
}

describe("clipGradNorm matches PyTorch's clip_grad_norm_", () => {
  for (const c of fx.clip) {
    it(`maxNorm ${c.maxNorm}, normType ${c.normType}`, () => {
      const params = paramsWithGrads();
      const total = utils.clipGradNorm(params, c.maxNorm, { normType: c.normType === "inf" ? Infinity : c.normType });
      assert.deepEqual(total.shape, []);
      assert.ok(Math.abs(total.item() - c.total) <= 1e-5 * c.total, `total norm ${total.item()} vs ${c.total}`);
      params.forEach((p, i) => assertClose(p.grad!, c.clipped[i], { atol: 1e-7, rtol: 1e-5, message: `grad ${i}` }));
    });
  }
});

describe("gradient utilities", () => {
  it("clipGradNorm modifies the existing gradient tensors, skips missing grads, and returns 0 for none", () => {
    const a = flint.zeros([2]).requiresGrad_();
    const b = flint.zeros([2]).requiresGrad_();
    a.grad = flint.tensor([3, 4]);
    const grad = a.grad;
    const total = utils.clipGradNorm([a, b], 1);
    assert.equal(total.item(), 5);
    assert.equal(a.grad, grad);
    assertClose(grad, [0.6, 0.8], { atol: 1e-6 });
    assert.equal(b.grad, null);
    assert.equal(utils.clipGradNorm([b], 1).item(), 0);
    // A single tensor is accepted too; the clipped gradient has norm 5 / (5 + 1e-6).
    assert.ok(Math.abs(utils.clipGradNorm(a, 10).item() - 1) < 1e-6);
  });

  it("clipGradNorm reports non-finite norms when asked", () => {
    const a = flint.zeros([2]).requiresGrad_();
    a.grad = flint.tensor([Infinity, 1]);
    assert.throws(() => utils.clipGradNorm([a], 1, { errorIfNonfinite: true }), /clipGradNorm: the total norm of order 2 for gradients from `parameters` is non-finite/);
    assert.equal(utils.clipGradNorm([a], 1).item(), Infinity);
  });

  it("clipGradValue clamps gradients in place", () => {
    const a = flint.zeros([4]).requiresGrad_();
    a.grad = flint.tensor([-2, -0.5, 0.25, 3]);
    utils.clipGradValue([a], 1);
    assertClose(a.grad, [-1, -0.5, 0.25, 1]);
    assert.throws(() => utils.clipGradValue([a], -1), /clipGradValue: clipValue must be non-negative, got -1/);
  });

  it("clipGradNorm works on strided gradients", () => {
    const a = flint.zeros([3, 2]).requiresGrad_();
    const base = flint.tensor([[3, 0, 0], [4, 0, 0]]);
    a.grad = base.t();
    utils.clipGradNorm([a], 1);
    assertClose(base, flint.tensor([[0.6, 0, 0], [0.8, 0, 0]]), { atol: 1e-6 });
  });

  it("parametersToVector and vectorToParameters round-trip", () => {
    const a = flint.tensor([[1, 2], [3, 4]]).requiresGrad_();
    const b = flint.tensor([5, 6]).requiresGrad_();
    const vec = utils.parametersToVector([a, b]);
    assertClose(vec, [1, 2, 3, 4, 5, 6]);
    vec.sum().backward();
    assertClose(a.grad!, flint.ones([2, 2]));
    utils.vectorToParameters(flint.tensor([10, 20, 30, 40, 50, 60]), [a, b]);
    assertClose(a, flint.tensor([[10, 20], [30, 40]]));
    assertClose(b, [50, 60]);
    assert.throws(() => utils.vectorToParameters(flint.zeros([5]), [a, b]), /vectorToParameters: the vector has 5 elements but the parameters have 6 \(shapes \[2, 2\], \[2\]\)/);
    assert.throws(() => utils.vectorToParameters(flint.zeros([2, 3]), [a, b]), /vectorToParameters: expected a 1-D vector, got shape \[2, 3\]/);
  });
});
