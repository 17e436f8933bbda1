// A parameter's gradients are written into storage kept from step to step
// (src/autograd/gradient-buffer.ts). That must never change what a caller sees: a gradient read
// through `.grad` keeps its values whatever later passes do, accumulation follows PyTorch (in
// place only while nothing else holds .grad), and autograd.grad never touches the buffer.
import assert from "node:assert/strict";
import { test } from "node:test";
import { wasmRuntime } from "../../src/backend/wasm/runtime.js";
import * as flint from "../../src/index.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { withBackend } from "../helpers.js";

const { nn } = flint;
const sharedMemory = wasmRuntime().shared;

/** A model whose gradients arrive as a dense GEMM result (Linear), an indexSelect's rows (Embedding) and a narrow's region. */
class Probe extends nn.Module {
  embedding = new nn.Embedding(50, 8);
  linear = new nn.Linear(8, 3);
  wide = new nn.Parameter(flint.randn([3, 12]));

  forward(ids: Tensor): Tensor {
    const hidden = this.linear.forward(this.embedding.forward(ids)).tanh();
    return hidden.matmul(this.wide.narrow(1, 4, 3)).sum();
  }
}

function probe(): Probe {
  flint.manualSeed(3);
  return new Probe();
}

function ids(seed: number): Tensor {
  const values = Array.from({ length: 64 }, (_, i) => (i * 7 + seed * 13) % 50);
  return flint.tensor(values, { dtype: "int32" }).reshape([8, 8]);
}

/** The gradients plain leaves (no gradient buffer) get for the same values: the reference. */
function referenceGradients(model: Probe, input: Tensor): Float32Array[] {
  const names = model.namedParameters().map(([name]) => name);
  const leaves = model.parameters().map((p) => p.detach().clone().requiresGrad_());
  const leaf = (name: string) => leaves[names.indexOf(name)];
  const hidden = flint.nn.functional.linear(flint.nn.functional.embedding(input, leaf("embedding.weight")), leaf("linear.weight"), leaf("linear.bias")).tanh();
  hidden.matmul(leaf("wide").narrow(1, 4, 3)).sum().backward();
  return leaves.map((l) => l.grad!.data() as Float32Array);
}

for (const backendName of ["js", "wasm"]) {
  test(`${backendName}: a training loop writes every step's gradients into the same storage, with the plain leaves' values`, () => {
    withBackend(backendName, () => {
      const model = probe();
      const optimizer = new flint.optim.Adam(model.parameters(), { lr: 0.01 });
      let storages: Float32Array[] | null = null;
      for (let step = 0; step < 4; step++) {
        optimizer.zeroGrad();
        const expected = referenceGradients(model, ids(step));
        model.forward(ids(step)).backward();
        const grads = model.parameters().map((p) => p.peekGrad()!);
        grads.forEach((g, i) => assert.deepEqual(g.data(), expected[i], `step ${step}, parameter ${i}`));
        const now = grads.map((g) => g.storage as Float32Array);
        if (storages !== null) now.forEach((s, i) => assert.equal(s, storages![i], `step ${step}: parameter ${i} got new storage`));
        storages = now;
        optimizer.step();
      }
      const inWasm = storages!.map((s) => wasmRuntime().residentPointer(s) >= 0);
      assert.deepEqual(inWasm, inWasm.map(() => backendName === "wasm" && sharedMemory), "buffers live in the backend's state memory");
    });
  });

  test(`${backendName}: a gradient read through .grad keeps its values after zeroGrad and the next backward`, () => {
    withBackend(backendName, () => {
      const model = probe();
      model.forward(ids(0)).backward();
      const kept = model.parameters().map((p) => p.grad!);
      const keptValues = kept.map((g) => (g.data() as Float32Array).slice());
      model.zeroGrad();
      const expected = referenceGradients(model, ids(1));
      model.forward(ids(1)).backward();
      kept.forEach((g, i) => assert.deepEqual(g.data(), keptValues[i], `parameter ${i}: the kept gradient changed`));
      model.parameters().forEach((p, i) => {
        assert.notEqual(p.peekGrad()!.storage, kept[i].storage, `parameter ${i} reuses the storage the caller holds`);
        assert.deepEqual(p.peekGrad()!.data(), expected[i], `parameter ${i}: new gradient`);
      });
      // The replacement buffer is reused in turn while nobody reads .grad.
      const second = model.parameters().map((p) => p.peekGrad()!.storage);
      model.zeroGrad();
      model.forward(ids(2)).backward();
      model.parameters().forEach((p, i) => assert.equal(p.peekGrad()!.storage, second[i], `parameter ${i}`));
    });
  });

  test(`${backendName}: a second backward accumulates in place unless .grad was handed out (PyTorch's AccumulateGrad)`, () => {
    withBackend(backendName, () => {
      const model = probe();
      const first = referenceGradients(model, ids(0));
      const second = referenceGradients(model, ids(1));
      const sums = first.map((f, i) => f.map((v, j) => Math.fround(v + second[i][j])));
      model.forward(ids(0)).backward();
      const before = model.parameters().map((p) => p.peekGrad()!);
      model.forward(ids(1)).backward();
      model.parameters().forEach((p, i) => {
        assert.equal(p.peekGrad(), before[i], `parameter ${i}: accumulated into the same tensor`);
        assert.deepEqual(p.peekGrad()!.data(), sums[i], `parameter ${i}: sum`);
      });

      const other = probe();
      other.forward(ids(0)).backward();
      const held = other.parameters().map((p) => p.grad!);
      other.forward(ids(1)).backward();
      other.parameters().forEach((p, i) => {
        assert.deepEqual(held[i].data(), first[i], `parameter ${i}: the held gradient is not added into`);
        assert.notEqual(p.peekGrad(), held[i]);
        assert.deepEqual(p.peekGrad()!.data(), sums[i], `parameter ${i}: sum`);
      });
    });
  });

  test(`${backendName}: zeroGrad({ setToNone: false }) zeroes the buffer in place and keeps it`, () => {
    withBackend(backendName, () => {
      const model = probe();
      const optimizer = new flint.optim.SGD(model.parameters(), { lr: 0.1 });
      model.forward(ids(0)).backward();
      const grads = model.parameters().map((p) => p.peekGrad()!);
      optimizer.zeroGrad({ setToNone: false });
      grads.forEach((g) => assert.ok((g.data() as Float32Array).every((v) => v === 0)));
      const expected = referenceGradients(model, ids(1));
      model.forward(ids(1)).backward();
      model.parameters().forEach((p, i) => {
        assert.equal(p.peekGrad(), grads[i]);
        assert.deepEqual(p.peekGrad()!.data(), expected[i]);
      });
    });
  });

  test(`${backendName}: autograd.grad hands out fresh gradients and leaves the buffers alone`, () => {
    withBackend(backendName, () => {
      const model = probe();
      const returned = flint.autograd.grad(model.forward(ids(0)), model.parameters());
      const values = returned.map((g) => (g!.data() as Float32Array).slice());
      model.forward(ids(1)).backward();
      returned.forEach((g, i) => {
        assert.deepEqual(g!.data(), values[i], `parameter ${i}: returned gradient changed`);
        assert.notEqual(g!.storage, model.parameters()[i].peekGrad()!.storage);
      });
    });
  });
}

test("a loop that reads .grad at every step moves the gradients to JavaScript memory instead of pinning wasm memory", () => {
  withBackend("wasm", () => {
    const rt = wasmRuntime();
    const model = probe();
    const optimizer = new flint.optim.SGD(model.parameters(), { lr: 0.1 });
    model.forward(ids(0)).backward();
    const residentAfterFirst = rt.residentArrayBytes;
    const norms: number[] = [];
    for (let step = 1; step < 6; step++) {
      norms.push(model.parameters().reduce((sum, p) => sum + p.grad!.square().sum().item(), 0));
      optimizer.step();
      optimizer.zeroGrad();
      model.forward(ids(step)).backward();
    }
    assert.ok(rt.residentArrayBytes <= residentAfterFirst, `resident bytes grew: ${residentAfterFirst} -> ${rt.residentArrayBytes}`);
    assert.ok(norms.every((n) => n > 0));
    for (const p of model.parameters()) assert.equal(rt.residentPointer(p.peekGrad()!.storage as Float32Array), -1);
  });
});

test("assigning .grad by hand: the tensor is the caller's, and reassigning the same gradient keeps it held", () => {
  const model = probe();
  const table = model.embedding.weight;
  const own = flint.ones([50, 8]);
  table.grad = own;
  model.forward(ids(0)).backward();
  assert.deepEqual(own.data(), flint.ones([50, 8]).data(), "the caller's tensor was added into");
  const g = table.grad!;
  table.grad = g;
  model.forward(ids(1)).backward();
  assert.notEqual(table.peekGrad(), g);
  assert.ok(table.peekGrad()!.sub(g).abs().sum().item() > 0);
});
