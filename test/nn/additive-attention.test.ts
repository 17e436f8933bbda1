// F.additiveAttentionProjected, the fused node behind nn.AdditiveAttention and the translator's
// decoder: its context, weights and every input's gradient must match the composite it replaces
// (broadcast add, tanh, matmul with v, masked fill, softmax, matmul), which the PyTorch goldens
// in attention.test.ts pin, on both backends: the translator's sizes run the wasm kernel, odd
// widths its scalar tails.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { wasmRuntime } from "../../src/backend/wasm/runtime.js";
import { assertClose, withBackend } from "../helpers.js";
import { withKernelLog } from "../wasm-helpers.js";

const F = flint.nn.functional;

function composite(query: Tensor, keys: Tensor, v: Tensor, values: Tensor, { keyPaddingMask: mask = null }: { keyPaddingMask?: Tensor | null } = {}): [Tensor, Tensor] {
  let scores = query.unsqueeze(2).add(keys.unsqueeze(1)).tanh().matmul(v); // [N, L, S]
  if (mask !== null) scores = scores.maskedFill(mask.unsqueeze(1), -Infinity);
  const weights = F.softmax(scores, -1);
  return [weights.matmul(values), weights];
}

interface Case {
  name: string;
  N: number;
  L: number;
  S: number;
  H: number;
  D: number;
  /** Valid keys per sample (the rest are padding); null: no mask. */
  lengths: number[] | null;
}

const CASES: Case[] = [
  { name: "the translator's decoder step", N: 32, L: 1, S: 9, H: 256, D: 256, lengths: Array.from({ length: 32 }, (_, n) => 3 + (n % 7)) },
  { name: "several queries, odd widths", N: 9, L: 3, S: 11, H: 19, D: 7, lengths: [11, 1, 6, 9, 4, 2, 11, 10, 3] },
  { name: "no mask, wide values", N: 8, L: 2, S: 5, H: 64, D: 40, lengths: null },
];

function run(c: Case, fused: boolean) {
  flint.manualSeed(5);
  const query = flint.randn([c.N, c.L, c.H]).requiresGrad_();
  const keys = flint.randn([c.N, c.S, c.H]).requiresGrad_();
  const v = flint.randn([c.H]).mul(0.5).requiresGrad_();
  const values = flint.randn([c.N, c.S, c.D]).requiresGrad_();
  const mask = c.lengths === null ? null : flint.tensor(c.lengths.map((n) => Array.from({ length: c.S }, (_, s) => s >= n)));
  const [context, weights] = (fused ? F.additiveAttentionProjected : composite)(query, keys, v, values, { keyPaddingMask: mask });
  // Upstream gradients into both outputs, so the weights' own gradient path is checked too.
  const loss = context.mul(flint.randn([...context.shape])).sum().add(weights.mul(flint.randn([...weights.shape])).sum());
  loss.backward();
  return { context, weights, grads: [query, keys, v, values].map((t) => t.grad!) };
}

for (const backendName of ["js", "wasm"]) {
  for (const c of CASES) {
    test(`additiveAttentionProjected matches the composite on ${backendName}: ${c.name}`, () => {
      withBackend(backendName, () => {
        let fused!: ReturnType<typeof run>;
        withKernelLog(wasmRuntime(), (kernels) => {
          fused = run(c, true);
          const ran = ["additiveAttentionForward", "additiveAttentionBackward"].every((k) => kernels.includes(k));
          assert.equal(ran, backendName === "wasm" && wasmRuntime().shared, "the wasm kernels run on the wasm backend");
        });
        const reference = run(c, false);
        assert.deepEqual(fused.context.shape, [c.N, c.L, c.D]);
        assert.deepEqual(fused.weights.shape, [c.N, c.L, c.S]);
        assertClose(fused.context, reference.context, { atol: 1e-5, rtol: 1e-4 });
        assertClose(fused.weights, reference.weights, { atol: 1e-6, rtol: 1e-4 });
        if (c.lengths !== null) {
          const w = fused.weights.tolist() as number[][][];
          c.lengths.forEach((n, i) => w[i].forEach((row) => row.slice(n).forEach((x) => assert.equal(x, 0, "padding gets weight 0"))));
        }
        ["query", "keys", "v", "values"].forEach((name, i) => assertClose(fused.grads[i], reference.grads[i], { atol: 1e-4, rtol: 1e-3, message: `d ${name}` }));
      });
    });
  }
}

test("additiveAttentionProjected: the JS reference and the wasm kernel agree", () => {
  const [js, wasm] = ["js", "wasm"].map((name) => withBackend(name, () => run(CASES[0], true)));
  assertClose(wasm.context, js.context, { atol: 1e-5, rtol: 1e-4 });
  js.grads.forEach((g, i) => assertClose(wasm.grads[i], g, { atol: 1e-4, rtol: 1e-3 }));
});

test("additiveAttentionProjected: a sample whose keys are all masked gets NaN, as softmax of all -inf does", () => {
  for (const backendName of ["js", "wasm"]) {
    withBackend(backendName, () => {
      const [N, S, H] = [16, 4, 96]; // large enough for the wasm kernel
      const mask = flint.tensor(Array.from({ length: N }, (_, n) => Array.from({ length: S }, () => n === 3)));
      const [context, weights] = F.additiveAttentionProjected(flint.randn([N, 1, H]), flint.randn([N, S, H]), flint.randn([H]), flint.randn([N, S, 8]), { keyPaddingMask: mask });
      const w = weights.tolist() as number[][][];
      const c = context.tolist() as number[][][];
      assert.ok(w[3][0].every(Number.isNaN) && c[3][0].every(Number.isNaN), `${backendName}: NaN for the fully masked sample`);
      assert.ok(w[2][0].every(Number.isFinite) && Math.abs(w[2][0].reduce((a, b) => a + b) - 1) < 1e-6, `${backendName}: the others are finite and sum to 1`);
    });
  }
});

test("additiveAttentionProjected: bad shapes and dtypes are errors naming the op and the shapes", () => {
  const q = flint.randn([2, 1, 4]);
  const k = flint.randn([2, 3, 4]);
  const v = flint.randn([4]);
  const x = flint.randn([2, 3, 5]);
  assert.throws(() => F.additiveAttentionProjected(flint.randn([2, 4]), k, v, x), /additiveAttentionProjected: query must be \[N, L, H\], got \[2, 4\]/);
  assert.throws(() => F.additiveAttentionProjected(q, flint.randn([2, 3, 5]), v, x), /keys must be \[2, S, 4\] for query \[2, 1, 4\], got \[2, 3, 5\]/);
  assert.throws(() => F.additiveAttentionProjected(q, k, flint.randn([1, 4]), x), /v must be \[4\], got \[1, 4\]/);
  assert.throws(() => F.additiveAttentionProjected(q, k, v, flint.randn([2, 2, 5])), /values must be \[2, 3, D\] for keys \[2, 3, 4\], got \[2, 2, 5\]/);
  assert.throws(() => F.additiveAttentionProjected(q, k, v, x, { keyPaddingMask: flint.zeros([2, 3]) }), /keyPaddingMask must be a bool \[2, 3\] tensor, got float32 \[2, 3\]/);
  assert.throws(() => F.additiveAttentionProjected(q, k.int(), v, x), /keys must be float32, got int32/);
});
