import { test } from "node:test";
import assert from "node:assert/strict";
import * as flint from "../../src/index.js";
import { assertClose } from "../helpers.js";

const { data } = flint;

/** A dataset without a batch fast path, to exercise get(i) + collate. */
class Squares extends data.Dataset<[flint.Tensor, number]> {
  constructor(readonly n: number) {
    super();
  }
  get length() {
    return this.n;
  }
  get(i: number): [flint.Tensor, number] {
    return [flint.tensor([i, i * i]), i % 3];
  }
}

test("TensorDataset returns rows; indexing is checked", () => {
  const x = flint.arange(0, 12, 1, { dtype: "float32" }).reshape([4, 3]);
  const y = flint.tensor([0, 1, 0, 1], { dtype: "int32" });
  const ds = new data.TensorDataset(x, y);
  assert.equal(ds.length, 4);
  const [xi, yi] = ds.get(2);
  assert.deepEqual(xi.tolist(), [6, 7, 8]);
  assert.equal(yi.item(), 0);
  assert.deepEqual(ds.get(-1)[0].tolist(), [9, 10, 11]);
  assert.throws(() => ds.get(4), /TensorDataset.get: index 4 is out of range for a dataset of length 4/);
  assert.throws(() => new data.TensorDataset(x, flint.zeros([3])), /TensorDataset: size mismatch between tensors: tensor 0 has shape \[4, 3\], tensor 1 has shape \[3\]/);
});

test("DataLoader batches in order, keeps or drops the last partial batch", () => {
  const x = flint.arange(0, 10, 1, { dtype: "float32" }).reshape([5, 2]);
  const y = flint.arange(0, 5);
  const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 2 });
  assert.equal(loader.length, 3);
  const batches = [...loader];
  assert.deepEqual(batches.map(([, yb]) => yb.tolist()), [[0, 1], [2, 3], [4]]);
  assert.deepEqual(batches[1][0].tolist(), [[4, 5], [6, 7]]);
  const dropping = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 2, dropLast: true });
  assert.equal(dropping.length, 2);
  assert.deepEqual([...dropping].map(([, yb]) => yb.tolist()), [[0, 1], [2, 3]]);
  assert.throws(() => new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 0 }), /DataLoader: batchSize should be a positive integer, got 0/);
});

test("DataLoader shuffles with the seeded generator: every sample once per epoch, new order each epoch", () => {
  const ds = new data.TensorDataset(flint.arange(0, 50));
  const epoch = (loader: flint.data.DataLoader<flint.Tensor[], flint.Tensor[]>) => [...loader].flatMap(([b]) => b.tolist() as number[]);
  flint.manualSeed(123);
  const loader = new data.DataLoader(ds, { batchSize: 8, shuffle: true });
  const first = epoch(loader);
  const second = epoch(loader);
  assert.deepEqual([...first].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(first, Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(first, second);
  flint.manualSeed(123);
  assert.deepEqual(epoch(new data.DataLoader(ds, { batchSize: 8, shuffle: true })), first);
  // Its own generator: the same order whatever the global seed.
  const own = (seed: number) => epoch(new data.DataLoader(ds, { batchSize: 8, shuffle: true, generator: new flint.Generator(seed) }));
  flint.manualSeed(1);
  const a = own(9);
  flint.manualSeed(2);
  assert.deepEqual(own(9), a);
  // The order is flint.randperm's for the same generator state.
  assert.deepEqual(a, flint.randperm(50, { generator: new flint.Generator(9) }).tolist());
});

test("default collate stacks tensors and turns numbers into int32/float32 tensors; custom collate is used as given", () => {
  const loader = new data.DataLoader(new Squares(5), { batchSize: 4 });
  const [xb, yb] = [...loader][0] as [flint.Tensor, flint.Tensor];
  assert.deepEqual(xb.tolist(), [[0, 0], [1, 1], [2, 4], [3, 9]]);
  assert.equal(yb.dtype, "int32");
  assert.deepEqual(yb.tolist(), [0, 1, 2, 0]);
  const collated = data.defaultCollate([{ a: 0.5, b: [true, flint.ones([2])] }, { a: 1, b: [false, flint.zeros([2])] }]) as { a: flint.Tensor; b: [flint.Tensor, flint.Tensor] };
  assert.equal(collated.a.dtype, "float32");
  assert.deepEqual(collated.b[0].tolist(), [true, false]);
  assert.deepEqual(collated.b[1].tolist(), [[1, 1], [0, 0]]);
  assert.throws(() => data.defaultCollate([flint.ones([2]), flint.ones([3])]), /stack: expects each tensor to be equal size/);
  assert.throws(() => data.defaultCollate(["a", "b"]), /defaultCollate: batch must contain tensors, numbers, booleans, arrays or plain objects; found string/);
  const custom = new data.DataLoader(new Squares(5), { batchSize: 2, collate: (samples) => samples.map(([, y]) => y).join(",") });
  assert.deepEqual([...custom], ["0,1", "2,0", "1"]);
  // The fast path (TensorDataset.getBatch) gives what get + defaultCollate gives.
  const x = flint.randn([6, 2, 3]);
  const ds = new data.TensorDataset(x, flint.arange(0, 6));
  const viaCollate = data.defaultCollate([3, 1, 4].map((i) => ds.get(i))) as flint.Tensor[];
  const viaBatch = ds.getBatch([3, 1, 4]);
  assertClose(viaBatch[0], viaCollate[0], { atol: 0 });
  assert.deepEqual(viaBatch[1].tolist(), viaCollate[1].tolist());
});

test("randomSplit: disjoint subsets covering the dataset, counts or fractions, seeded", () => {
  const ds = new data.TensorDataset(flint.arange(0, 10));
  const [a, b] = data.randomSplit(ds, [7, 3], { generator: new flint.Generator(0) });
  assert.equal(a.length, 7);
  assert.equal(b.length, 3);
  const all = [...a.indices, ...b.indices].sort((p, q) => p - q);
  assert.deepEqual(all, Array.from({ length: 10 }, (_, i) => i));
  assert.deepEqual(a.get(0)[0].item(), a.indices[0]);
  const [c, d] = data.randomSplit(ds, [7, 3], { generator: new flint.Generator(0) });
  assert.deepEqual([c.indices, d.indices], [a.indices, b.indices]);
  // Fractions: floor, then the remainder dealt round-robin (PyTorch: [0.5, 0.25, 0.25] of 11 -> 6, 3, 2).
  const parts = data.randomSplit(new data.TensorDataset(flint.arange(0, 11)), [0.5, 0.25, 0.25]);
  assert.deepEqual(parts.map((p) => p.length), [6, 3, 2]);
  assert.throws(() => data.randomSplit(ds, [5, 4]), /randomSplit: sum of input lengths \(9\) does not equal the length of the input dataset \(10\)/);
  // A Subset keeps the fast batch path of its dataset.
  const loader = new data.DataLoader(b, { batchSize: 3 });
  assert.deepEqual(([...loader][0] as flint.Tensor[])[0].tolist(), b.indices);
});
