import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as flint from "../../src/index.js";
import { assertClose, loadJsonFixture, type Golden } from "../helpers.js";

const F = flint.nn.functional;
type Tensor = flint.Tensor;
type TypedGolden = Golden & { dtype: "float32" | "int32" };

interface LossCase {
  fn: string;
  input: TypedGolden;
  target: TypedGolden;
  options: Record<string, unknown>;
  upstream: TypedGolden | null;
  out: TypedGolden;
  gradInput: TypedGolden;
  gradTarget: TypedGolden | null;
}
const fx = loadJsonFixture<{ cases: LossCase[] }>("loss/losses.json");

const fromGolden = (g: TypedGolden): Tensor => flint.tensor(g.data, { dtype: g.dtype }).reshape(g.shape);
const isGolden = (v: unknown): v is TypedGolden => typeof v === "object" && v !== null && "shape" in v && "data" in v;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const lossFns: Record<string, (input: Tensor, target: Tensor, options: any) => Tensor> = {
  mseLoss: F.mseLoss,
  l1Loss: F.l1Loss,
  smoothL1Loss: F.smoothL1Loss,
  huberLoss: F.huberLoss,
  crossEntropy: F.crossEntropy,
  nllLoss: F.nllLoss,
  binaryCrossEntropy: F.binaryCrossEntropy,
  binaryCrossEntropyWithLogits: F.binaryCrossEntropyWithLogits,
  kldiv: F.kldiv,
};

function describeCase(c: LossCase): string {
  const opts = Object.entries(c.options).map(([k, v]) => `${k}=${isGolden(v) ? `tensor${JSON.stringify(v.shape)}` : JSON.stringify(v)}`);
  return `${c.fn} input ${JSON.stringify(c.input.shape)} target ${c.target.dtype}${JSON.stringify(c.target.shape)} ${opts.join(" ")}`;
}

describe("losses match PyTorch (value, input gradient, target gradient)", () => {
  for (const c of fx.cases) {
    it(describeCase(c), () => {
      const input = fromGolden(c.input).requiresGrad_();
      const target = fromGolden(c.target);
      if (c.gradTarget !== null) target.requiresGrad_();
      const options = Object.fromEntries(Object.entries(c.options).map(([k, v]) => [k, isGolden(v) ? fromGolden(v) : v]));
      const out = lossFns[c.fn](input, target, options);
      // Gradients of 1e12 (binaryCrossEntropy at 0 and 1) need a relative tolerance only.
      assertClose(out, c.out, { atol: 1e-5, rtol: 1e-4, message: "value" });
      if (c.upstream === null) out.backward();
      else out.backward(fromGolden(c.upstream));
      assertClose(input.grad!, c.gradInput, { atol: 1e-6, rtol: 1e-4, message: "input gradient" });
      if (c.gradTarget !== null) assertClose(target.grad!, c.gradTarget, { atol: 1e-6, rtol: 1e-4, message: "target gradient" });
    });
  }
});

describe("loss errors name the op, the shapes and the values", () => {
  const logits = flint.randn([4, 5]);
  it("class-index targets", () => {
    assert.throws(() => F.crossEntropy(logits, flint.tensor([1, 2, 3], { dtype: "int32" })), /crossEntropy: expected a target of shape \[4\] for an input of shape \[4, 5\] \(classes in dim 1\), got \[3\]/);
    assert.throws(() => F.crossEntropy(logits, flint.tensor([1, 2, 5, 0], { dtype: "int32" })), /crossEntropy: target 5 is out of bounds for 5 classes/);
    assert.throws(() => F.nllLoss(logits, flint.tensor([1, -1, 0, 0], { dtype: "int32" })), /nllLoss: target -1 is out of bounds for 5 classes/);
    assert.throws(() => F.nllLoss(logits, flint.tensor([1, 2, 3, 0])), /nllLoss: expected int32 class indices as target, got float32 of shape \[4\]/);
    assert.throws(() => F.crossEntropy(logits, flint.tensor([true, false, true, false])), /crossEntropy: expected int32 class indices as target \(or float32 class probabilities of the input's shape\), got bool/);
    assert.throws(() => F.crossEntropy(logits, flint.rand([4, 4])), /crossEntropy: class-probability targets must have the input's shape \[4, 5\], got \[4, 4\]/);
    assert.throws(() => F.crossEntropy(logits, flint.tensor([0, 1, 2, 3], { dtype: "int32" }), { weight: flint.ones([4]) }), /crossEntropy: weight must be a 1-D tensor with one entry per class \(5\), got shape \[4\]/);
    assert.throws(() => F.crossEntropy(logits, flint.tensor([0, 1, 2, 3], { dtype: "int32" }), { labelSmoothing: 1.5 }), /crossEntropy: labelSmoothing must be between 0.0 and 1.0, got 1.5/);
    assert.throws(() => F.crossEntropy(flint.tensor(1), flint.tensor(0, { dtype: "int32" })), /crossEntropy: input must have at least one dimension/);
  });
  it("reductions, binary targets and probabilities", () => {
    assert.throws(() => F.mseLoss(logits, logits, { reduction: "avg" as "mean" }), /mseLoss: "avg" is not a valid value for reduction/);
    assert.throws(() => F.binaryCrossEntropy(flint.tensor([0.5, 1.5]), flint.tensor([0, 1])), /binaryCrossEntropy: all elements of input should be between 0 and 1, got 1.5 at flat index 1/);
    assert.throws(() => F.binaryCrossEntropy(flint.tensor([0.5, 0.5]), flint.tensor([[0, 1]])), /binaryCrossEntropy: using a target size \(\[1, 2\]\) that is different to the input size \(\[2\]\)/);
    assert.throws(() => F.binaryCrossEntropyWithLogits(flint.zeros([2, 3]), flint.zeros([2, 3]), { posWeight: flint.ones([2]) }), /binaryCrossEntropyWithLogits: .*\[2\].*\[2, 3\]/);
    assert.throws(() => F.mseLoss(flint.zeros([2, 3]), flint.zeros([4])), /mseLoss: .*\[2, 3\].*\[4\]/);
    assert.throws(() => F.l1Loss(flint.zeros([2], { dtype: "int32" }), flint.zeros([2])), /l1Loss: expected a float32 input, got int32/);
    const learnable = flint.ones([5]).requiresGrad_();
    assert.throws(() => F.crossEntropy(logits, flint.tensor([0, 1, 2, 3], { dtype: "int32" }), { weight: learnable }), /crossEntropy: not differentiable with respect to argument 'weight'/);
    assert.throws(() => F.binaryCrossEntropyWithLogits(logits, flint.zeros([4, 5]), { posWeight: learnable }), /binaryCrossEntropyWithLogits: not differentiable with respect to argument 'posWeight'/);
  });
});

describe("loss behaviour", () => {
  it("mean over only ignored targets is NaN, as in PyTorch", () => {
    const out = F.crossEntropy(flint.randn([2, 3]), flint.tensor([-100, -100], { dtype: "int32" }));
    assert.ok(Number.isNaN(out.item()));
  });
  it("crossEntropy equals nllLoss of logSoftmax", () => {
    const x = flint.randn([6, 4]);
    const y = flint.tensor([0, 3, 2, 1, 1, 0], { dtype: "int32" });
    assertClose(F.crossEntropy(x, y), F.nllLoss(F.logSoftmax(x, 1), y));
  });
  it("fused crossEntropy and nllLoss read strided inputs correctly", () => {
    const base = flint.randn([5, 3]);
    const labels = flint.tensor([2, 0, 1], { dtype: "int32" });
    for (const fn of [F.crossEntropy, F.nllLoss]) {
      const strided = base.detach().requiresGrad_();
      const dense = base.t().contiguous().requiresGrad_();
      const a = fn(strided.t(), labels, { reduction: "sum" });
      const b = fn(dense, labels, { reduction: "sum" });
      assertClose(a, b);
      a.backward();
      b.backward();
      assertClose(strided.grad!.t(), dense.grad!);
    }
  });

  it("klDiv is kldiv (PyTorch's kl_div)", () => {
    assert.equal(F.klDiv, F.kldiv);
  });
});
