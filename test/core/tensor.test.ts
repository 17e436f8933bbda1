// Creation functions, dtypes and promotion, views versus copies, and reading values out.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import type { Tensor } from "../../src/index.js";
import { Layout } from "../../src/core/layout.js";
import { assertClose, loadJsonFixture } from "../helpers.js";

/** True when writing through `view` is visible in `base` (they share storage). */
function sharesStorage(base: Tensor, view: Tensor): boolean {
  return base.storage === view.storage;
}

test("tensor() from nested arrays infers shape and dtype", () => {
  const x = flint.tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(x.shape, [2, 3]);
  assert.equal(x.dtype, "float32");
  assert.deepEqual(x.tolist(), [[1, 2, 3], [4, 5, 6]]);
  assert.equal(flint.tensor([true, false]).dtype, "bool");
  assert.equal(flint.tensor([1, true]).dtype, "float32");
  assert.equal(flint.tensor([[1, 2]], { dtype: "int32" }).dtype, "int32");
  assert.deepEqual(flint.tensor(3.5).shape, []);
  assert.deepEqual(flint.tensor([]).shape, [0]);
  assert.deepEqual(flint.tensor([[], []]).shape, [2, 0]);
  // bool storage holds 0/1 whatever the numbers were
  assert.deepEqual(flint.tensor([2, 0, -3], { dtype: "bool" }).tolist(), [true, false, true]);
  assert.deepEqual([...flint.tensor([2, 0, -3], { dtype: "bool" }).data()], [1, 0, 1]);
});

test("tensor() from typed arrays", () => {
  assert.equal(flint.tensor(new Float32Array([1, 2])).dtype, "float32");
  assert.equal(flint.tensor(new Float64Array([1.5, 2])).dtype, "float32");
  assert.equal(flint.tensor(new Int32Array([1, 2])).dtype, "int32");
  assert.equal(flint.tensor(new Uint8Array([1, 2])).dtype, "int32");
  assert.deepEqual(flint.tensor(new Int32Array([1, 2, 3]), { dtype: "float32" }).tolist(), [1, 2, 3]);
  // the tensor owns a copy: changing the source afterwards does not change it
  const source = new Float32Array([1, 2]);
  const x = flint.tensor(source);
  source[0] = 9;
  assert.deepEqual(x.tolist(), [1, 2]);
});

test("tensor() rejects ragged arrays and bad values", () => {
  assert.throws(() => flint.tensor([[1, 2], [3]]), /^FlintError: tensor: ragged nested array: expected length 2 at \[1\], got 1$/);
  assert.throws(() => flint.tensor([[1, 2], 3] as never), /tensor: ragged nested array/);
  assert.throws(() => flint.tensor([1, "a"] as never), /tensor: expected a number or boolean at \[1\], got string/);
  assert.throws(() => flint.tensor([1.5], { dtype: "int32" }), /tensor: value 1.5 is not an integer but dtype is int32/);
  assert.throws(() => flint.tensor([1], { dtype: "float64" as never }), /tensor: unknown dtype "float64"/);
});

test("zeros ones full empty and the *Like functions", () => {
  assert.deepEqual(flint.zeros([2, 3]).tolist(), [[0, 0, 0], [0, 0, 0]]);
  assert.deepEqual(flint.ones([2], { dtype: "int32" }).tolist(), [1, 1]);
  assert.equal(flint.ones([2], { dtype: "int32" }).dtype, "int32");
  assert.deepEqual(flint.full([2, 2], 7).tolist(), [[7, 7], [7, 7]]);
  assert.equal(flint.full([1], true).dtype, "bool");
  assert.deepEqual(flint.full([2], 5, { dtype: "bool" }).tolist(), [true, true]);
  assert.deepEqual(flint.empty([0, 4]).shape, [0, 4]);
  assert.deepEqual(flint.empty([3]).shape, [3]);
  const base = flint.tensor([[1, 2], [3, 4]], { dtype: "int32" });
  const z = flint.zerosLike(base);
  assert.deepEqual([z.shape, z.dtype, z.tolist()], [[2, 2], "int32", [[0, 0], [0, 0]]]);
  const o = flint.onesLike(base, { dtype: "float32" });
  assert.deepEqual([o.dtype, o.tolist()], ["float32", [[1, 1], [1, 1]]]);
  assert.equal(flint.zeros([2], { requiresGrad: true }).requiresGrad, true);
  assert.throws(() => flint.zeros([2, -1]), /^FlintError: zeros: shape must contain non-negative integers, got \[2, -1\]$/);
  assert.throws(() => flint.zeros([2.5]), /shape must contain non-negative integers/);
});

test("arange linspace eye match PyTorch", () => {
  const golden = loadJsonFixture<Record<string, { shape: number[]; data: number[] }>>("core/creation.json");
  assertClose(flint.arange(5), golden.arange_end, { atol: 0, rtol: 0 });
  assertClose(flint.arange(2, 11, 3), golden.arange_step, { atol: 0, rtol: 0 });
  assertClose(flint.arange(0, 1, 0.1), golden.arange_float, { atol: 1e-7, rtol: 0 });
  assertClose(flint.arange(5, 0, -1.5), golden.arange_negative, { atol: 1e-7, rtol: 0 });
  assertClose(flint.linspace(-1, 1, 7), golden.linspace, { atol: 1e-7, rtol: 0 });
  assertClose(flint.linspace(0, 1, 1), golden.linspace_one, { atol: 0, rtol: 0 });
  assertClose(flint.linspace(3, -2.5, 10), golden.linspace_down, { atol: 1e-6, rtol: 0 });
  assertClose(flint.eye(3), golden.eye, { atol: 0, rtol: 0 });
  assertClose(flint.eye(2, 4), golden.eye_rect, { atol: 0, rtol: 0 });
  assert.deepEqual(flint.eye(2, { dtype: "int32" }).tolist(), [[1, 0], [0, 1]]);
  assert.equal(flint.eye(2, { dtype: "int32" }).dtype, "int32");
  assert.equal(flint.arange(5).dtype, "int32");
  assert.equal(flint.arange(0, 1, 0.5).dtype, "float32");
  assert.equal(flint.linspace(0, 1, 0).numel(), 0);
  assert.throws(() => flint.arange(0, 5, 0), /arange: step must be finite and non-zero, got 0/);
  assert.throws(() => flint.arange(5, 0, 1), /arange: upper bound and step sign are inconsistent/);
});

test("dtype promotion: bool < int32 < float32, and the scalar rule", () => {
  const i = flint.tensor([1, 2], { dtype: "int32" });
  const b = flint.tensor([true, false]);
  const f = flint.tensor([0.5, 1.5]);
  assert.equal(i.add(f).dtype, "float32");
  assert.equal(b.add(i).dtype, "int32");
  assert.equal(b.add(b).dtype, "bool");
  assert.equal(i.add(1).dtype, "int32"); // an integer scalar keeps an int tensor int
  assert.equal(i.add(1.5).dtype, "float32"); // a fractional scalar makes it float
  assert.equal(b.add(true).dtype, "bool");
  assert.equal(b.mul(2).dtype, "int32");
  assert.equal(i.div(i).dtype, "float32"); // true division
  assert.equal(f.mul(2).dtype, "float32");
  assert.equal(i.sum().dtype, "int32");
  assert.equal(b.sum().dtype, "int32");
  assert.equal(i.max().dtype, "int32");
  assert.equal(i.exp().dtype, "float32");
  assert.equal(i.eq(1).dtype, "bool");
  assert.equal(flint.where(b, 1, 0).dtype, "int32");
  assert.equal(flint.where(b, true, false).dtype, "bool");
  assert.equal(flint.where(b, i, 0.5).dtype, "float32");
  assert.deepEqual(b.add(b).tolist(), [true, false]);
  assert.deepEqual(i.add(1.5).tolist(), [2.5, 3.5]);
  assert.deepEqual(flint.tensor([-7, 7], { dtype: "int32" }).div(2).tolist(), [-3.5, 3.5]);
  assert.deepEqual(f.int().tolist(), [0, 1]);
  assert.deepEqual(flint.tensor([-1.7, 2.9]).int().tolist(), [-1, 2]); // truncation toward zero
  assert.deepEqual(flint.tensor([0, 0.5, -2]).bool().tolist(), [false, true, true]);
  assert.throws(() => b.neg(), /neg: negation of a bool tensor is not supported/);
  assert.throws(() => b.sub(b), /sub: subtracting two bool tensors is not supported/);
  assert.throws(() => i.mean(), /mean: expected a float32 tensor, got int32/);
  assert.throws(() => i.requiresGrad_(), /requiresGrad: only float32 tensors can require gradients, got int32/);
});

test("allclose and equal", () => {
  const a = flint.tensor([1, 2, NaN]);
  assert.equal(a.allclose(flint.tensor([1, 2 + 1e-6, NaN])), false); // NaN != NaN, as PyTorch's default
  assert.equal(flint.tensor([1, 2]).allclose(flint.tensor([1, 2 + 1e-6])), true);
  assert.equal(flint.tensor([1, 2]).allclose(flint.tensor([1, 2.1])), false);
  assert.equal(flint.tensor([1, 2]).allclose(flint.tensor([1, 2.1]), { atol: 0.2 }), true);
  assert.equal(flint.tensor([100, 200]).allclose(flint.tensor([101, 202]), { rtol: 0.02 }), true);
  assert.equal(flint.allclose(flint.tensor([[1, 1]]), flint.tensor([1])), true); // broadcasts
  assert.equal(flint.tensor([1, 2]).equal(flint.tensor([1, 2])), true);
  assert.equal(flint.tensor([1, 2]).equal(flint.tensor([[1, 2]])), false); // shapes differ
  assert.equal(flint.equal(flint.tensor([1, 2]), flint.tensor([1, 3])), false);
});

test("views share storage; copies do not", () => {
  const x = flint.arange(0, 12, 1, { dtype: "float32" }).reshape([3, 4]);
  const views: [string, Tensor][] = [
    ["transpose", x.transpose(0, 1)],
    ["t", x.t()],
    ["permute", x.permute([1, 0])],
    ["narrow", x.narrow(1, 1, 2)],
    ["select", x.select(0, 1)],
    ["expand", x.slice(null, [0, 1]).expand([3, 5])],
    ["squeeze", x.unsqueeze(0).squeeze(0)],
    ["unsqueeze", x.unsqueeze(1)],
    ["reshape of contiguous", x.reshape([2, 6])],
    ["view", x.view([12])],
    ["flatten", x.flatten()],
    ["slice", x.slice([1, null], [null, null, 2])],
    ["chunk", x.chunk(2, 1)[1]],
    ["split", x.split(1, 0)[2]],
    ["unbind", x.unbind(1)[3]],
    ["detach", x.detach()],
  ];
  for (const [name, v] of views) assert.ok(sharesStorage(x, v), `${name} should be a view`);
  const copies: [string, Tensor][] = [
    ["clone", x.clone()],
    ["contiguous of a transpose", x.t().contiguous()],
    ["reshape of a transpose", x.t().reshape([12])],
    ["flip", x.flip([0])],
    ["repeat", x.repeat([1, 1])],
    ["cat", flint.cat([x], 0)],
    ["add", x.add(0)],
    ["data()", x],
  ];
  for (const [name, c] of copies.slice(0, -1)) assert.ok(!sharesStorage(x, c), `${name} should be a copy`);
  assert.notEqual(x.data(), x.storage);
  assert.equal(x.contiguous(), x); // already contiguous: the same tensor

  // A write through a view shows in the base, at the right place.
  const base = flint.zeros([3, 4]);
  base.t().narrow(0, 2, 1).fill_(5); // column 2
  base.slice(1, [null, null, 3]).fill_(7); // row 1, columns 0 and 3
  assert.deepEqual(base.tolist(), [[0, 0, 5, 0], [7, 0, 5, 7], [0, 0, 5, 0]]);
  const clone = base.clone();
  clone.fill_(1);
  assert.equal(base.sum().item(), 29);
  // writing a tensor into an overlapping view of itself reads the old values first
  const overlap = flint.tensor([[1, 2], [3, 4]]);
  overlap.copy_(overlap.t());
  assert.deepEqual(overlap.tolist(), [[1, 3], [2, 4]]);
  const shifted = flint.tensor([1, 2, 3, 4]);
  shifted.narrow(0, 1, 3).copy_(shifted.narrow(0, 0, 3));
  assert.deepEqual(shifted.tolist(), [1, 1, 2, 3]);
  // into a narrowed last dim (contiguous rows, copied row by row), from another tensor and from an overlapping view
  const rows = flint.zeros([2, 3, 5]);
  rows.narrow(2, 1, 3).copy_(flint.arange(0, 18, 1, { dtype: "float32" }).reshape([2, 3, 3]));
  assert.deepEqual(rows.select(0, 1).tolist(), [[0, 9, 10, 11, 0], [0, 12, 13, 14, 0], [0, 15, 16, 17, 0]]);
  rows.narrow(2, 2, 3).copy_(rows.narrow(2, 1, 3));
  assert.deepEqual(rows.select(0, 0).tolist(), [[0, 0, 0, 1, 2], [0, 3, 3, 4, 5], [0, 6, 6, 7, 8]]);
  // view() refuses data that would have to move; reshape() copies it.
  assert.throws(() => x.t().view([12]), /view: size \[12\] is not compatible with input of shape \[4, 3\] and strides \[1, 4\]/);
  assert.deepEqual(x.t().reshape([12]).tolist(), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
});

test("view on odd strides follows PyTorch's chunk rule", () => {
  const x = flint.arange(0, 24, 1, { dtype: "float32" }).reshape([2, 3, 4]);
  // [2, 3, 4] -> permute -> [3, 2, 4]: dims 1 and 2 still chain, so [3, 8] is not a view, [3, 2, 2, 2] is.
  const p = x.permute([1, 0, 2]);
  assert.throws(() => p.view([3, 8]), /view: size \[3, 8\] is not compatible/);
  const v = p.view([3, 2, 2, 2]);
  assert.ok(sharesStorage(x, v));
  assert.deepEqual(v.stride(), [4, 12, 2, 1]);
  assert.deepEqual(v.tolist(), p.contiguous().view([3, 2, 2, 2]).tolist());
  // size-1 dims with arbitrary strides never block a view
  const n = x.narrow(0, 1, 1).narrow(1, 0, 1); // [1, 1, 4]
  assert.deepEqual(n.view([4]).tolist(), [12, 13, 14, 15]);
  assert.deepEqual(n.view([2, 1, 2]).tolist(), [[[12, 13]], [[14, 15]]]);
  // a step slice of the last dim keeps its stride in a view that splits another dim
  const s = flint.arange(0, 16, 1, { dtype: "float32" }).reshape([4, 4]).slice(null, [null, null, 2]); // [4, 2], strides [4, 2]
  const sv = s.view([2, 2, 2]);
  assert.deepEqual(sv.stride(), [8, 4, 2]);
  assert.deepEqual(sv.tolist(), [[[0, 2], [4, 6]], [[8, 10], [12, 14]]]);
  assert.deepEqual(s.view([8]).stride(), [2]); // rows chain: 4 == 2 * 2
  const narrowed = flint.arange(0, 16, 1, { dtype: "float32" }).reshape([4, 4]).narrow(1, 0, 2); // strides [4, 1]
  assert.throws(() => narrowed.view([8]), /view: size \[8\] is not compatible/);
  assert.deepEqual(narrowed.view([4, 2, 1]).stride(), [4, 1, 1]);
  // expanded (stride-0) data: adding a unit dim is a view, merging the expanded dim is not
  const e = flint.tensor([1, 2, 3]).expand([2, 3]);
  assert.deepEqual(e.view([2, 1, 3]).stride(), [0, 3, 1]);
  assert.throws(() => e.view([6]), /view: size \[6\] is not compatible/);
  assert.deepEqual(e.reshape([6]).tolist(), [1, 2, 3, 1, 2, 3]);
});

test("Layout.view agrees with PyTorch's view on random strided layouts", () => {
  const { cases } = loadJsonFixture<{ cases: { shape: number[]; strides: number[]; target: number[]; viewStrides: number[] | null }[] }>("core/views.json");
  for (const c of cases) {
    const view = new Layout(c.shape, c.strides, 0).view(c.target);
    const label = `view ${JSON.stringify(c.target)} of shape ${JSON.stringify(c.shape)} strides ${JSON.stringify(c.strides)}`;
    if (c.viewStrides === null) {
      assert.equal(view, null, `${label} should be refused`);
      continue;
    }
    assert.ok(view, `${label} should be a view`);
    // a size-1 dim's stride is never used to address anything, so only the others must agree
    const significant = (strides: readonly number[]) => strides.map((s, i) => (c.target[i] === 1 ? null : s));
    assert.deepEqual(significant(view.strides), significant(c.viewStrides), label);
  }
});

test("item tolist data", () => {
  assert.equal(flint.tensor(2.5).item(), 2.5);
  assert.equal(flint.tensor([[7]], { dtype: "int32" }).item(), 7);
  // bool reads as 1 / 0 (item is typed number; tolist gives booleans)
  assert.equal(flint.tensor(true).item(), 1);
  assert.equal(flint.tensor([1, 2]).eq(flint.tensor([1, 2])).all().item(), 1);
  assert.throws(() => flint.tensor([1, 2]).item(), /item: a Tensor with 2 elements cannot be converted to a scalar \(shape \[2\]\)/);
  assert.equal(flint.tensor(4).tolist(), 4);
  assert.equal(flint.tensor(false).tolist(), false);
  assert.deepEqual(flint.zeros([2, 0]).tolist(), [[], []]);
  const x = flint.arange(0, 6, 1, { dtype: "float32" }).reshape([2, 3]).t();
  assert.deepEqual(x.tolist(), [[0, 3], [1, 4], [2, 5]]);
  const data = x.data();
  assert.ok(data instanceof Float32Array);
  assert.deepEqual([...data], [0, 3, 1, 4, 2, 5]);
  assert.ok(flint.tensor([1], { dtype: "int32" }).data() instanceof Int32Array);
  assert.ok(flint.tensor([true]).data() instanceof Uint8Array);
  // numel / dim / size / ndim
  assert.equal(x.numel(), 6);
  assert.equal(x.dim(), 2);
  assert.equal(x.ndim, 2);
  assert.deepEqual(x.size(), [3, 2]);
  assert.equal(x.size(-1), 2);
  assert.throws(() => x.size(2), /size: dimension 2 is out of range for a tensor of 2 dimensions \(expected in \[-2, 1\]\)/);
});

test("toString looks like PyTorch's repr", () => {
  assert.equal(String(flint.tensor([[1, 2], [3, 4]])), "tensor([[1., 2.],\n        [3., 4.]])");
  assert.equal(String(flint.tensor([0.5, -1.25])), "tensor([ 0.5000, -1.2500])");
  assert.equal(String(flint.tensor([1, 2], { dtype: "int32" })), "tensor([1, 2], dtype=int32)");
  assert.equal(String(flint.tensor([true, false])), "tensor([ true, false], dtype=bool)");
  assert.equal(String(flint.tensor(3)), "tensor(3.)");
  assert.equal(String(flint.zeros([0, 2])), "tensor([], size=[0, 2])");
  assert.equal(String(flint.ones([2], { requiresGrad: true })), "tensor([1., 1.], requiresGrad=true)");
  assert.equal(String(flint.tensor([1, NaN, -Infinity])), "tensor([1., nan, -inf])");
  assert.equal(String(flint.tensor([1.5, NaN, -2.25])), "tensor([ 1.5000,     nan, -2.2500])");
  assert.equal(String(flint.tensor([1.5, 100, -2.25])), "tensor([  1.5000, 100.0000,  -2.2500])");
  assert.equal(String(flint.tensor([1.5], { requiresGrad: true }).mul(2)), "tensor([3.], gradFn=<mul>)");
  // long tensors are elided, and formatted from the values shown
  assert.equal(String(flint.arange(2000)), "tensor([   0,    1,    2, ..., 1997, 1998, 1999], dtype=int32)");
});
