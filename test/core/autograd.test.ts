// The autograd tape: backward, retainGraph, accumulation, grad, noGrad, detach, autograd.grad,
// gradcheck, and in-place ops on tensors that take part in autograd.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { assertClose } from "../helpers.js";

test("backward of a scalar fills .grad of the leaves only", () => {
  const x = flint.tensor([1, 2, 3], { requiresGrad: true });
  const w = flint.tensor([0.5, -1, 2], { requiresGrad: true });
  const hidden = x.mul(w);
  const y = hidden.sum();
  y.backward();
  assertClose(x.grad!, [0.5, -1, 2]);
  assertClose(w.grad!, [1, 2, 3]);
  assert.equal(hidden.grad, null); // non-leaf: not kept unless retainGrad()
  assert.equal(y.isLeaf, false);
  assert.equal(x.isLeaf, true);
  assert.equal(y.gradFn?.name, "sum");
});

test("backward needs a gradient for non-scalar outputs and checks its shape", () => {
  const x = flint.tensor([1, 2], { requiresGrad: true });
  const y = x.mul(3);
  assert.throws(() => y.backward(), /^FlintError: backward: grad can be implicitly created only for scalar outputs \(got shape \[2\]\); pass a gradient$/);
  assert.throws(() => y.backward(flint.ones([3])), /backward: gradient of shape \[3\] does not match tensor of shape \[2\]/);
  y.backward(flint.tensor([1, 10]));
  assertClose(x.grad!, [3, 30]);
  assert.throws(() => flint.tensor([1, 2]).sum().backward(), /backward: element 0 of tensors does not require grad and does not have a gradFn/);
});

test("a second backward through a freed graph fails clearly; retainGraph allows it", () => {
  const x = flint.tensor([1, 2], { requiresGrad: true });
  const y = x.exp().sum();
  y.backward();
  assert.throws(
    () => y.backward(),
    /^FlintError: backward: trying to backward through the graph a second time \(through sum\); its saved tensors were freed after the first backward\. Pass \{ retainGraph: true \} to the first backward call if you need to backward twice$/,
  );
  const z = x.square().sum();
  x.grad = null;
  z.backward(undefined, { retainGraph: true });
  z.backward();
  assertClose(x.grad!, [4, 8]); // 2 * (2x)
  assert.throws(() => z.backward(), /backward through the graph a second time/);
});

test("gradients accumulate across backward calls until cleared", () => {
  const x = flint.tensor([1, -2], { requiresGrad: true });
  x.mul(2).sum().backward();
  x.square().sum().backward();
  assertClose(x.grad!, [2 + 2, 2 - 4]);
  // a tensor used twice in one graph gets both contributions
  const y = flint.tensor([3], { requiresGrad: true });
  y.mul(y).add(y).sum().backward();
  assertClose(y.grad!, [7]);
  // the stored grad is a fresh tensor: editing it in place does not corrupt another leaf's grad
  const a = flint.tensor([1], { requiresGrad: true });
  const b = flint.tensor([1], { requiresGrad: true });
  a.add(b).sum().backward();
  a.grad!.mul_(10);
  assertClose(b.grad!, [1]);
});

test(".grad is settable and validated", () => {
  const x = flint.tensor([1, 2], { requiresGrad: true });
  x.grad = flint.tensor([5, 5]);
  x.sum().backward();
  assertClose(x.grad!, [6, 6]);
  x.grad = null;
  assert.equal(x.grad, null);
  assert.throws(() => (x.grad = flint.zeros([3])), /grad: assigned grad of shape \[3\] does not match the tensor's shape \[2\]/);
  assert.throws(() => (x.grad = flint.zeros([2], { dtype: "int32" })), /grad: assigned grad has dtype int32 but the tensor has dtype float32/);
});

test("retainGrad keeps a non-leaf gradient", () => {
  const x = flint.tensor([1, 2], { requiresGrad: true });
  const h = x.mul(2).retainGrad();
  h.square().sum().backward();
  assertClose(h.grad!, [4, 8]);
  assertClose(x.grad!, [8, 16]);
});

test("noGrad records nothing; detach cuts the graph; requiresGrad_ starts one", () => {
  const x = flint.tensor([1, 2], { requiresGrad: true });
  const y = flint.noGrad(() => x.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.gradFn, null);
  assert.equal(flint.isGradEnabled(), true);
  // grad mode is restored even when the function throws
  assert.throws(() => flint.noGrad(() => { throw new Error("boom"); }), /boom/);
  assert.equal(flint.isGradEnabled(), true);
  const inner = flint.noGrad(() => flint.enableGrad(() => x.mul(2)));
  assert.equal(inner.requiresGrad, true);

  const d = x.mul(3).detach();
  assert.equal(d.requiresGrad, false);
  const z = d.mul(x).sum();
  z.backward();
  assertClose(x.grad!, [3, 6]); // d is a constant
  const leaf = flint.tensor([1, 2]);
  assert.equal(leaf.requiresGrad, false);
  assert.equal(leaf.requiresGrad_(), leaf);
  assert.equal(leaf.requiresGrad, true);
  leaf.square().sum().backward();
  assertClose(leaf.grad!, [2, 4]);
  assert.throws(() => x.mul(2).requiresGrad_(false), /requiresGrad: cannot turn off requiresGrad on a non-leaf tensor; use detach\(\)/);
  // integer casts cut the graph
  assert.equal(x.int().requiresGrad, false);
  assert.equal(x.gt(0).requiresGrad, false);
});

test("autograd.grad returns gradients without touching .grad", () => {
  const x = flint.tensor([1, 2, 3], { requiresGrad: true });
  const w = flint.tensor([2, 2, 2], { requiresGrad: true });
  const y = x.mul(w).sum();
  const [gx, gw] = flint.autograd.grad(y, [x, w]);
  assertClose(gx!, [2, 2, 2]);
  assertClose(gw!, [1, 2, 3]);
  assert.equal(x.grad, null);
  assert.equal(w.grad, null);
  // an input that is also an intermediate: its own gradient, and the full gradient of the leaf
  const a = flint.tensor([1, 2], { requiresGrad: true });
  const h = a.mul(3);
  const out = h.mul(a).sum(); // 3a^2: d/da = 6a; d/dh = a
  const [ga, gh] = flint.autograd.grad(out, [a, h]);
  assertClose(ga!, [6, 12]);
  assertClose(gh!, [1, 2]);
  const unused = flint.tensor([1], { requiresGrad: true });
  const s = x.sum();
  assert.throws(() => flint.autograd.grad(s, [unused]), /autograd.grad: one of the inputs was not used in the graph/);
  const s2 = x.sum();
  assert.deepEqual(flint.autograd.grad(s2, [unused], { allowUnused: true }), [null]);
  const v = x.mul(2);
  const [gv] = flint.autograd.grad(v, x, { gradOutputs: [flint.tensor([1, 0, -1])] });
  assertClose(gv!, [2, 0, -2]);
});

test("gradcheck passes correct gradients and catches a wrong one", () => {
  const x = flint.tensor([[0.3, -1.2], [2.0, 0.7]], { requiresGrad: true });
  const y = flint.tensor([0.5, 1.5], { requiresGrad: true });
  assert.equal(flint.autograd.gradcheck((a, b) => a.matmul(b).tanh(), [x, y]), true);
  // x * stopgrad(x) has a true derivative of 2x but autograd sees x
  const wrong = (a: flint.Tensor) => a.mul(a.detach());
  assert.equal(flint.autograd.gradcheck(wrong, [x], { raiseException: false }), false);
  assert.throws(() => flint.autograd.gradcheck(wrong, [x]), /^FlintError: gradcheck: Jacobian mismatch for input 0 at element 0: analytical -?[\d.]+, numerical -?[\d.]+$/);
  assert.throws(() => flint.autograd.gradcheck((a) => a.sum(), [flint.tensor([1])]), /gradcheck: every input must require grad/);
  assert.equal(x.grad, null); // gradcheck leaves .grad alone
  // non-contiguous inputs are perturbed through their layout
  const base = flint.randn([3, 4], { generator: new flint.Generator(3) });
  const t = base.t().detach().requiresGrad_();
  assert.equal(t.isContiguous(), false);
  assert.equal(flint.autograd.gradcheck((a) => a.exp().sum(1), [t]), true);
});

test("in-place ops refuse tensors that require grad, outside noGrad", () => {
  const w = flint.tensor([1, 2], { requiresGrad: true });
  const message = /a tensor that requires grad is being used in an in-place operation; wrap the update in flint\.noGrad\(\(\) => \.\.\.\)/;
  for (const [name, op] of Object.entries({
    add_: () => w.add_(1),
    sub_: () => w.sub_(1),
    mul_: () => w.mul_(2),
    div_: () => w.div_(2),
    copy_: () => w.copy_(flint.zeros([2])),
    fill_: () => w.fill_(0),
    zero_: () => w.zero_(),
    clamp_: () => w.clamp_(0, 1),
    uniform_: () => w.uniform_(),
    normal_: () => w.normal_(),
  })) {
    assert.throws(op, new RegExp(`^FlintError: ${name}: ${message.source}$`));
  }
  assert.deepEqual(w.tolist(), [1, 2]);
  // writing a grad-requiring value into a plain tensor is refused too
  assert.throws(() => flint.zeros([2]).copy_(w.mul(2)), message);
  flint.noGrad(() => {
    w.sub_(flint.tensor([0.5, 0.5]), { alpha: 2 });
    w.mul_(2);
  });
  assert.deepEqual(w.tolist(), [0, 2]);
  assert.equal(w.requiresGrad, true);
  assert.equal(w.isLeaf, true);
  // a plain tensor is writable, through views too, with broadcasting
  const p = flint.zeros([2, 3]);
  p.add_(flint.tensor([1, 2, 3]));
  p.t().narrow(0, 0, 1).mul_(10);
  assert.deepEqual(p.tolist(), [[10, 2, 3], [10, 2, 3]]);
  assert.throws(() => p.copy_(flint.zeros([3, 3])), /copy_: cannot write a value of shape \[3, 3\] into a tensor of shape \[2, 3\]|copy_: shapes/);
});

test("a long chain of ops backpropagates without deep recursion", () => {
  const x = flint.tensor([0.5], { requiresGrad: true });
  let y = x;
  for (let i = 0; i < 5000; i++) y = y.mul(1);
  y.sum().backward();
  assertClose(x.grad!, [1]);
});

test("gradients summed in place by the engine never leak into another tensor's gradient", () => {
  // z's gradient is a sum of two contributions (summed by the engine); add's backward then hands
  // that one tensor to both p and q, and p collects another contribution afterwards (pw was
  // created before z, so its backward runs later). Summing p's gradient in place into the shared
  // tensor would corrupt q's (and so h's) gradient.
  const x = flint.tensor([1, 2, 3]).requiresGrad_();
  const w = flint.tensor([0.5, -1, 2]).requiresGrad_();
  const h = x.mul(3);
  const p = h.add(1);
  const q = h.mul(2);
  const pw = p.mul(w);
  const z = p.add(q);
  const out = z.sum().add(z.sum()).add(pw.sum()).add(w.mul(w).sum());
  out.backward();
  // d/dx = 3 * (2 + w) + 6 * 2 = 18 + 3w; d/dw = p + 2w with p = 3x + 1.
  assertClose(x.grad!, [19.5, 15, 24]);
  assertClose(w.grad!, [5, 5, 14]);
  // The leaf gradients are fresh tensors: changing one in place leaves the other alone.
  x.grad!.mul_(0);
  assertClose(w.grad!, [5, 5, 14]);
  // A second backward through a retained graph adds to the existing gradients.
  const y = flint.tensor([2, 4]).requiresGrad_();
  const shared = y.mul(y);
  const total = shared.add(shared).add(shared).sum();
  total.backward(undefined, { retainGraph: true });
  total.backward();
  assertClose(y.grad!, [24, 48]);
});

test("a leaf's .grad never shares storage with another gradient, a seed or a tensor of the graph", () => {
  // Each case gives two leaves gradients that flow from one storage, or a gradient that is a
  // graph tensor or the caller's seed; editing one .grad in place must change nothing else.
  const a = flint.tensor([1, 2]).requiresGrad_();
  const b = flint.tensor([3]).requiresGrad_();
  flint.cat([a, b]).mul(flint.tensor([2, 3, 4])).sum().backward(); // cat hands views of one gradient to a and b
  a.grad!.mul_(0);
  assertClose(b.grad!, [4]);

  const c = flint.tensor([1, 2]).requiresGrad_();
  const seed = flint.tensor([5, 6]);
  c.clone().backward(seed); // clone passes the seed itself through
  c.grad!.mul_(0);
  assertClose(seed, [5, 6]);

  const d = flint.tensor([[1, 2], [3, 4]]).requiresGrad_();
  const e = flint.tensor([[1, 0], [0, 1]]).requiresGrad_();
  const product = d.matmul(e); // d W-style gradients straight out of their GEMMs: fresh, not cloned
  product.sum().backward();
  d.grad!.mul_(0);
  assertClose(e.grad!.reshape([-1]), [4, 4, 6, 6]);
  assertClose(product.reshape([-1]), [1, 2, 3, 4]);

  const f = flint.tensor([2, 3]).requiresGrad_();
  const g = flint.tensor([4, 5]).requiresGrad_();
  f.mul(g).sum().backward(); // d f = g and d g = f, each computed as a product with the incoming gradient
  f.grad!.mul_(0);
  assertClose(g, [4, 5]);
  assertClose(g.grad!, [2, 3]);
  assertClose(f, [2, 3]);
});

test("slicing views add their gradients into the base's gradient region by region", () => {
  // A time loop over x.select(1, t) (each step weighted differently), plus overlapping narrows,
  // a strided slice and a direct use of x, in an order that mixes region and dense contributions.
  flint.manualSeed(3);
  const x = flint.randn([3, 5, 4]).requiresGrad_();
  const w = flint.randn([3, 5, 4]);
  let loss = x.narrow(1, 1, 3).mul(w.narrow(1, 1, 3)).sum(); // region first
  for (let t = 0; t < 5; t++) loss = loss.add(x.select(1, t).mul(w.select(1, t)).mul(t + 1).sum());
  loss = loss.add(x.square().sum()); // a dense contribution in between
  loss = loss.add(x.narrow(1, 2, 3).sum()); // overlaps the first narrow
  loss = loss.add(x.slice(null, null, [null, null, 2]).mul(7).sum()); // every other column (a stepped region)
  loss.backward();
  const xs = x.detach();
  const stepWeight = flint.arange(1, 6).reshape([1, 5, 1]);
  const inFirstNarrow = flint.tensor([0, 1, 1, 1, 0]).reshape([1, 5, 1]);
  const inSecondNarrow = flint.tensor([0, 0, 1, 1, 1]).reshape([1, 5, 1]);
  const everyOtherColumn = flint.tensor([7, 0, 7, 0]).reshape([1, 1, 4]);
  const expected = w.mul(inFirstNarrow).add(w.mul(stepWeight)).add(xs.mul(2)).add(inSecondNarrow).add(everyOtherColumn);
  assertClose(x.grad!, expected, { atol: 1e-5 });
  // The same loop with only region contributions: the first one becomes the sum, the rest go into it.
  const y = flint.randn([2, 6]).requiresGrad_();
  let total = y.select(0, 0).sum();
  for (let j = 0; j < 6; j++) total = total.add(y.select(1, j).mul(j).sum());
  total.backward();
  assertClose(y.grad!.reshape([-1]), [1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5]);
  // A dense gradient first (x.mul runs last forward, so first backward), then a region into it.
  const z = flint.tensor([1, 2, 3]).requiresGrad_();
  const viewed = z.narrow(0, 1, 2);
  viewed.sum().add(z.mul(3).sum()).backward();
  assertClose(z.grad!, [3, 4, 4]);
});
