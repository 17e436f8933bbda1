// F.attentionGruDecoder: on wasm the whole teacher-forced decoder is one node whose time loop
// runs in one backend call each way (src/backend/wasm/attention-decoder.ts); elsewhere it is the
// composite of recorded ops (attention, linear, GRU step per time step). The fused node must give
// the composite's states and all ten inputs' gradients, and the JS backend the composite itself.
// The translator's PyTorch goldens (test/apps/translate-golden.test.ts) run through it too.
import assert from "node:assert/strict";
import { test } from "node:test";
import { wasmRuntime } from "../../src/backend/wasm/runtime.js";
import * as flint from "../../src/index.js";
import { composite } from "../../src/nn/functional/attention-decoder.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { assertClose, withBackend } from "../helpers.js";

const F = flint.nn.functional;
const NAMES = ["inputs", "h0", "keys", "values", "weightQuery", "v", "weightContext", "weightHh", "biasIh", "biasHh"];

interface Case {
  name: string;
  T: number;
  B: number;
  S: number;
  H: number;
  masked: boolean;
  /** Each row's steps (all T when absent). */
  lengths?: number[];
}

const CASES: Case[] = [
  { name: "translator-like, padded sources", T: 7, B: 32, S: 9, H: 64, masked: true },
  { name: "odd hidden size", T: 3, B: 5, S: 4, H: 13, masked: true },
  { name: "one step, no mask", T: 1, B: 8, S: 6, H: 32, masked: false },
  // Sorted as the translator sorts its batches: later steps run on fewer rows (and none at the last).
  { name: "decreasing lengths", T: 7, B: 32, S: 9, H: 64, masked: true, lengths: Array.from({ length: 32 }, (_, b) => Math.max(0, 6 - Math.floor(b / 5))) },
  { name: "unsorted lengths", T: 5, B: 6, S: 4, H: 13, masked: true, lengths: [2, 5, 0, 3, 5, 1] },
];

function operands(c: Case) {
  flint.manualSeed(1);
  const make = (shape: number[], scale: number) => flint.randn(shape).mul(scale).requiresGrad_();
  const { T, B, S, H } = c;
  const inputs = make([T, B, 3 * H], 0.5);
  const h0 = make([B, H], 0.5);
  const keys = make([B, S, H], 0.5);
  const values = make([B, S, H], 0.5);
  const mask = c.masked ? flint.tensor(Array.from({ length: B }, (_, b) => Array.from({ length: S }, (_, s) => s >= 1 + (b % S)))) : null;
  const weights = { weightQuery: make([H, H], 0.2), v: make([H], 0.3), weightContext: make([3 * H, H], 0.2), weightHh: make([3 * H, H], 0.2), biasIh: make([3 * H], 0.1), biasHh: make([3 * H], 0.1) };
  return { inputs, h0, keys, values, mask, weights, all: [inputs, h0, keys, values, ...Object.values(weights)] };
}

function run(c: Case, decoder: typeof composite, lengths = c.lengths) {
  const o = operands(c);
  const states = decoder(o.inputs, o.h0, o.keys, o.values, o.weights, { keyPaddingMask: o.mask, lengths });
  // The op under the states view (read before the backward releases the graph).
  const node = states.gradFn?.inputs[0]?.gradFn?.name ?? null;
  flint.manualSeed(2);
  states.mul(flint.randn([...states.shape])).sum().backward();
  return { states, node, grads: o.all.map((t) => t.grad as Tensor) };
}

for (const c of CASES) {
  test(`attentionGruDecoder on wasm: one fused node with the composite's states and gradients (${c.name})`, () => {
    withBackend("wasm", () => {
      const fused = run(c, F.attentionGruDecoder);
      assert.equal(fused.node, "attentionGruDecoder", "the fused node ran");
      assert.deepEqual(fused.states.shape, [c.T, c.B, c.H]);
      const reference = run(c, composite);
      assertClose(fused.states, reference.states, { atol: 1e-6, rtol: 1e-5, message: "states" });
      NAMES.forEach((name, i) => assertClose(fused.grads[i], reference.grads[i], { atol: 1e-5, rtol: 1e-4, message: `d ${name}` }));
      // The JS backend's composite: the same numbers up to rounding.
      const js = withBackend("js", () => run(c, F.attentionGruDecoder));
      assertClose(fused.states, js.states, { atol: 1e-5, rtol: 1e-4, message: "states vs the JS backend" });
      NAMES.forEach((name, i) => assertClose(fused.grads[i], js.grads[i], { atol: 1e-4, rtol: 1e-3, message: `d ${name} vs the JS backend` }));
    });
  });
}

test("attentionGruDecoder with lengths: a row's states before its length are those without lengths, zero after, and its gradient there is ignored", () => {
  for (const backendName of ["wasm", "js"] as const) {
    withBackend(backendName, () => {
      for (const c of CASES.filter((k) => k.lengths !== undefined)) {
        const lengths = c.lengths as number[];
        const limited = run(c, F.attentionGruDecoder);
        const full = run(c, F.attentionGruDecoder, undefined);
        const mask = flint.tensor(Array.from({ length: c.T }, (_, t) => lengths.map((len) => Array(c.H).fill(t < len ? 1 : 0))));
        assertClose(limited.states, full.states.mul(mask), { atol: 1e-6, rtol: 1e-5, message: `${backendName} ${c.name}: states` });
        // The same loss through the lengths-free decoder, its padding positions masked out.
        const o = operands(c);
        const states = F.attentionGruDecoder(o.inputs, o.h0, o.keys, o.values, o.weights, { keyPaddingMask: o.mask });
        flint.manualSeed(2);
        states.mul(mask).mul(flint.randn([...states.shape])).sum().backward();
        NAMES.forEach((name, i) => assertClose(limited.grads[i], o.all[i].grad as Tensor, { atol: 1e-5, rtol: 1e-4, message: `${backendName} ${c.name}: d ${name}` }));
      }
    });
  }
});

test("attentionGruDecoder: lengths that do not fit are errors", () => {
  const o = operands(CASES[1]); // T 3, B 5
  const call = (lengths: number[]) => () => F.attentionGruDecoder(o.inputs, o.h0, o.keys, o.values, o.weights, { lengths });
  assert.throws(call([3, 3, 3]), /attentionGruDecoder: expected 5 lengths \(one per batch row\), got 3/);
  assert.throws(call([3, 3, 4, 1, 0]), /attentionGruDecoder: lengths must be integers in \[0, 3\], got 4/);
  assert.throws(call([3, 3, 1.5, 1, 0]), /lengths must be integers in \[0, 3\], got 1.5/);
});

test("attentionGruDecoder on the JS backend is the composite", () => {
  withBackend("js", () => {
    const c = CASES[1];
    const decoder = run(c, F.attentionGruDecoder);
    const reference = run(c, composite);
    assert.deepEqual(Array.from(decoder.states.data()), Array.from(reference.states.data()));
    decoder.grads.forEach((g, i) => assert.deepEqual(Array.from(g.data()), Array.from(reference.grads[i].data()), NAMES[i]));
  });
});

test("attentionGruDecoder without gradients keeps nothing for a backward", () => {
  withBackend("wasm", () => {
    const rt = wasmRuntime();
    const c = CASES[0];
    const o = operands(c);
    const before = rt.scopedBytes;
    const states = flint.noGrad(() => F.attentionGruDecoder(o.inputs, o.h0, o.keys, o.values, o.weights, { keyPaddingMask: o.mask }));
    assert.equal(states.gradFn, null);
    assert.equal(rt.scopedBytes, before, "the saved tensors were released at once");
    const reference = flint.noGrad(() => composite(o.inputs, o.h0, o.keys, o.values, o.weights, { keyPaddingMask: o.mask }));
    assertClose(states, reference, { atol: 1e-6, rtol: 1e-5 });
  });
});

test("attentionGruDecoder: bad shapes are errors naming the op and the shapes", () => {
  const o = operands(CASES[1]); // T 3, B 5, S 4, H 13
  const call = (patch: Partial<typeof o>) => {
    const p = { ...o, ...patch };
    return () => F.attentionGruDecoder(p.inputs, p.h0, p.keys, p.values, p.weights, { keyPaddingMask: p.mask });
  };
  assert.throws(call({ h0: flint.randn([5]) }), /attentionGruDecoder: h0 must be \[B, H\], got \[5\]/);
  assert.throws(call({ inputs: flint.randn([3, 5, 13]) }), /inputs must be \[T, 5, 39\] for h0 \[5, 13\], got \[3, 5, 13\]/);
  assert.throws(call({ keys: flint.randn([5, 4, 12]) }), /keys must be \[5, S, 13\], got \[5, 4, 12\]/);
  assert.throws(call({ values: flint.randn([5, 3, 13]) }), /values must be \[5, 4, 13\], got \[5, 3, 13\]/);
  assert.throws(call({ weights: { ...o.weights, weightContext: flint.randn([39, 26]) } }), /weightContext must be \[39, 13\], got \[39, 26\]/);
});
