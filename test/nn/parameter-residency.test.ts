// Module parameters are made from parameterData (src/nn/parameter.ts): on the wasm backend with
// shared memory their storage lives in wasm memory, where kernels read the weights and the
// optimizers update them without copies. Training must give exactly the numbers of the same
// model whose parameters live in JavaScript memory, and the JS backend keeps plain arrays.
import assert from "node:assert/strict";
import { test } from "node:test";
import { wasmRuntime } from "../../src/backend/wasm/runtime.js";
import * as flint from "../../src/index.js";
import { withBackend } from "../helpers.js";
import type { Tensor } from "../../src/tensor/tensor.js";

const { nn } = flint;
const sharedMemory = wasmRuntime().shared;

/** One of each module kind that owns parameters. */
function everyKind(): flint.nn.Module[] {
  return [
    new nn.Linear(8, 4),
    new nn.Bilinear(3, 4, 5),
    new nn.Conv2d(3, 6, 3),
    new nn.Conv1d(2, 4, 3),
    new nn.Embedding(20, 8),
    new nn.GRU(8, 16, { numLayers: 2, bidirectional: true }),
    new nn.LSTMCell(8, 16),
    new nn.LayerNorm([8]),
    new nn.BatchNorm2d(6),
    new nn.GroupNorm(2, 6),
    new nn.PReLU(),
    new nn.MultiheadAttention(8, 2),
  ];
}

test("module parameters live in wasm memory on the wasm backend, in JavaScript memory on the JS backend", () => {
  const rt = wasmRuntime();
  withBackend("wasm", () => {
    for (const module of everyKind()) {
      for (const [name, p] of module.namedParameters()) {
        const resident = rt.residentPointer(p.storage as Float32Array) >= 0;
        assert.equal(resident, sharedMemory, `${module.constructor.name}.${name} resident: ${resident}`);
      }
    }
  });
  withBackend("js", () => {
    for (const module of everyKind()) {
      for (const [name, p] of module.namedParameters()) assert.equal(rt.residentPointer(p.storage as Float32Array), -1, `${module.constructor.name}.${name}`);
    }
  });
  // Initial values do not depend on where the storage lives.
  const fresh = (name: string) => withBackend(name, () => {
    flint.manualSeed(7);
    return everyKind().flatMap((m) => m.parameters().map((p) => Array.from(p.data() as Float32Array)));
  });
  assert.deepEqual(fresh("wasm"), fresh("js"));
});

class Tagger extends nn.Module {
  embedding = new nn.Embedding(300, 64);
  gru = new nn.GRU(64, 64, { batchFirst: true });
  norm = new nn.LayerNorm([64]);
  out = new nn.Linear(64, 300);

  forward(ids: Tensor): Tensor {
    const [states] = this.gru.forward(this.embedding.forward(ids));
    // A view of a weight at an offset, as the translator's decoder reads half of its W_ih.
    const skip = flint.nn.functional.linear(states.narrow(-1, 0, 32), this.out.weight.narrow(1, 32, 32));
    return this.out.forward(this.norm.forward(states)).add(skip);
  }
}

/** Replaces every parameter by a copy in JavaScript memory (a Parameter made from an op's output). */
function moveParametersToJsMemory(module: flint.nn.Module): void {
  for (const child of module.modules()) {
    for (const [name, p] of child.namedParameters({ recurse: false })) {
      (child as unknown as Record<string, Tensor>)[name] = new nn.Parameter(p.detach().clone());
    }
  }
}

test("training with resident parameters gives exactly the numbers of parameters in JavaScript memory", { skip: !sharedMemory }, () => {
  withBackend("wasm", () => {
    const models = [0, 1].map(() => {
      flint.manualSeed(3);
      return new Tagger();
    });
    moveParametersToJsMemory(models[1]);
    const rt = wasmRuntime();
    assert.ok(models[0].parameters().every((p) => rt.residentPointer(p.storage as Float32Array) >= 0));
    assert.ok(models[1].parameters().every((p) => rt.residentPointer(p.storage as Float32Array) === -1));
    const optimizers = models.map((m) => new flint.optim.Adam(m.parameters(), { lr: 1e-2 }));
    flint.manualSeed(11);
    const batches = [0, 1, 2].map(() => [flint.randint(0, 300, [16, 6]), flint.randint(0, 300, [16 * 6])]);
    const losses = models.map((model, i) =>
      batches.map(([ids, targets]) => {
        optimizers[i].zeroGrad();
        const loss = flint.nn.functional.crossEntropy(model.forward(ids).reshape([-1, 300]), targets);
        loss.backward();
        optimizers[i].step();
        return loss.item();
      }),
    );
    assert.deepEqual(losses[0], losses[1]);
    assert.ok(losses[0][2] < losses[0][0], `the loss goes down: ${losses[0]}`);
    const values = models.map((m) => m.parameters().map((p) => Array.from(p.data() as Float32Array)));
    assert.deepEqual(values[0], values[1], "the same parameters after three Adam steps");
  });
});
