// The fused attention op (F.scaledDotProductAttention's and nn.MultiheadAttention's common path:
// backend attentionForward / attentionBackward) against the composite of tensor ops, on the JS
// and wasm backends: random odd shapes, L != S, strided / transposed / expanded inputs, bool,
// float and broadcast masks, causal, key padding, batchFirst, packed and separate projections;
// forward values and every gradient.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as flint from "../../src/index.js";
import { wasmRuntime } from "../../src/backend/wasm/runtime.js";
import { assertClose, pick, rng } from "../helpers.js";

type Tensor = flint.Tensor;
const { nn } = flint;
const F = nn.functional;
const TOL = { atol: 2e-5, rtol: 2e-4 };

function randomTensor(r: () => number, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return flint.tensor(Float32Array.from({ length: n }, () => r() * 4 - 2)).reshape(shape);
}

/** Output and gradients of `fn` on fresh leaves of `inputs` under `backendName`, with a fixed non-uniform upstream gradient. */
function run(backendName: string, inputs: Tensor[], fn: (...xs: Tensor[]) => Tensor, params: Tensor[] = []): { out: Tensor; grads: Tensor[] } {
  flint.setBackend(backendName);
  try {
    const leaves = inputs.map((x) => x.detach().clone().requiresGrad_());
    for (const p of params) p.grad = null;
    const out = fn(...leaves);
    out.mul(flint.linspace(-1, 1, out.numel()).reshape(out.shape.slice())).sum().backward();
    return { out: out.detach(), grads: [...leaves, ...params].map((l) => l.grad!.clone()) };
  } finally {
    flint.setBackend("js");
  }
}

function assertSame(label: string, got: { out: Tensor; grads: Tensor[] }, want: { out: Tensor; grads: Tensor[] }): void {
  assertClose(got.out, want.out, { ...TOL, message: `${label} forward` });
  assert.equal(got.grads.length, want.grads.length);
  got.grads.forEach((g, i) => assertClose(g, want.grads[i], { ...TOL, message: `${label} grad ${i}` }));
}

/** The composite the fused op replaces, written out with plain tensor ops. */
function referenceAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, causal: boolean, scale: number): Tensor {
  let scores = q.matmul(k.transpose(-2, -1)).mul(scale);
  const [L, S] = [q.shape[q.ndim - 2], k.shape[k.ndim - 2]];
  if (causal) scores = scores.maskedFill(flint.ones([L, 1]).cumsum(0).lt(flint.ones([1, S]).cumsum(1)), -Infinity);
  if (mask !== null) scores = mask.dtype === "bool" ? scores.maskedFill(mask.logicalNot(), -Infinity) : scores.add(mask);
  return F.softmax(scores, -1).matmul(v);
}

test("the wasm runtime's threads are up (so large cases split across them)", () => {
  assert.ok(wasmRuntime().waitForThreads() >= 1);
});

test("scaledDotProductAttention: fused op matches the composite on both backends (random shapes, views, masks)", () => {
  const r = rng(7);
  for (let trial = 0; trial < 14; trial++) {
    const batch = pick(r, [[], [3], [2, 3], [2, 2, 3]]);
    const [L, S, E, Ev] = [1 + Math.floor(r() * 20), 1 + Math.floor(r() * 20), 1 + Math.floor(r() * 12), 1 + Math.floor(r() * 9)];
    // Trials 0 and 1 are large (threaded; 1 is causal and square, so the wasm GEMMs skip blocks above the diagonal).
    const big = trial < 2;
    const dims = trial === 0 ? { L: 90, S: 97, E: 16, Ev: 8 } : trial === 1 ? { L: 70, S: 70, E: 12, Ev: 9 } : { L, S, E, Ev };
    const b = big ? [4, 3] : batch;
    const causal = trial === 1 || (!big && r() < 0.3);
    const maskKind = causal ? "none" : pick(r, ["none", "bool", "float", "floatRow"]);
    const q = randomTensor(r, [...b, dims.E, dims.L]); // transposed below
    const k = randomTensor(r, [...b, dims.S, dims.E + 3]); // narrowed below
    const v = randomTensor(r, [...b.slice(1), dims.S, dims.Ev]); // expanded over the first batch dim below
    const mask = maskKind === "bool" ? randomTensor(r, [dims.L, dims.S]).gt(-1.5)
      : maskKind === "float" ? randomTensor(r, [...b, dims.L, dims.S])
      : maskKind === "floatRow" ? randomTensor(r, [1, dims.S]) : null;
    const scale = r() < 0.5 ? 0.37 : null;
    const prepare = (qq: Tensor, kk: Tensor, vv: Tensor): [Tensor, Tensor, Tensor] => [
      qq.transpose(-2, -1), kk.narrow(-1, 2, dims.E), b.length === 0 ? vv : vv.expand([...b, dims.S, dims.Ev]),
    ];
    const fused = (qq: Tensor, kk: Tensor, vv: Tensor) => F.scaledDotProductAttention(...prepare(qq, kk, vv), { attnMask: mask, isCausal: causal, scale });
    const reference = (qq: Tensor, kk: Tensor, vv: Tensor) => referenceAttention(...prepare(qq, kk, vv), mask, causal, scale ?? 1 / Math.sqrt(dims.E));
    const want = run("js", [q, k, v], reference);
    const label = `trial ${trial}: batch [${b}] L ${dims.L} S ${dims.S} E ${dims.E} Ev ${dims.Ev} mask ${maskKind} causal ${causal}`;
    assertSame(`${label} (js)`, run("js", [q, k, v], fused), want);
    assertSame(`${label} (wasm)`, run("wasm", [q, k, v], fused), want);
  }
});

test("scaledDotProductAttention: the same tensor as query, key and value", () => {
  const r = rng(11);
  const x = randomTensor(r, [3, 2, 17, 24]);
  const want = run("js", [x], (t) => referenceAttention(t, t, t, null, true, 0.2));
  for (const name of ["js", "wasm"]) assertSame(name, run(name, [x], (t) => F.scaledDotProductAttention(t, t, t, { isCausal: true, scale: 0.2 })), want);
});

test("scaledDotProductAttention: fully masked rows give NaN, as the composite", () => {
  const r = rng(5);
  const [q, k, v] = [randomTensor(r, [2, 40, 32]), randomTensor(r, [2, 40, 32]), randomTensor(r, [2, 40, 8])];
  const mask = flint.ones([40, 40]).gt(0).clone();
  const blocked = mask.narrow(0, 3, 1);
  blocked.fill_(0);
  for (const name of ["js", "wasm"]) {
    flint.setBackend(name);
    try {
      const out = F.scaledDotProductAttention(q, k, v, { attnMask: mask }).data() as Float32Array;
      const want = referenceAttention(q, k, v, mask, false, 1 / Math.sqrt(32)).data() as Float32Array;
      for (let i = 0; i < out.length; i++) {
        if (Number.isNaN(want[i])) assert.ok(Number.isNaN(out[i]), `${name}: element ${i} should be NaN`);
        else assert.ok(Math.abs(out[i] - want[i]) <= 1e-4 + 1e-4 * Math.abs(want[i]), `${name}: element ${i}`);
      }
      assert.ok(want.some(Number.isNaN), "the reference has a NaN row");
    } finally {
      flint.setBackend("js");
    }
  }
});

test("MultiheadAttention: fused path (needWeights false) matches the composite (needWeights true) on both backends", () => {
  const r = rng(3);
  for (let trial = 0; trial < 12; trial++) {
    const heads = pick(r, [1, 2, 3]);
    const E = heads * (1 + Math.floor(r() * 6));
    const [N, L] = [1 + Math.floor(r() * 4), 1 + Math.floor(r() * 14)];
    const cross = trial % 3 === 2;
    const S = cross ? 1 + Math.floor(r() * 14) : L;
    const batchFirst = r() < 0.5;
    const kdim = cross && r() < 0.5 ? E + 3 : E;
    const m = new nn.MultiheadAttention(E, heads, { batchFirst, kdim, vdim: kdim, bias: r() < 0.8 });
    const maskKind = pick(r, ["none", "causal", "bool2d", "float3d", "padding", "causal+padding"]);
    const shape = (len: number, width: number) => (batchFirst ? [N, len, width] : [len, N, width]);
    const query = randomTensor(r, shape(L, E));
    const key = cross ? randomTensor(r, shape(S, kdim)) : query;
    const value = cross ? randomTensor(r, shape(S, kdim)) : query;
    const padding = maskKind.includes("padding") ? randomTensor(r, [N, S]).gt(1.2) : null;
    if (padding !== null) padding.narrow(1, 0, 1).fill_(0); // every row keeps one key
    const attnMask = maskKind === "bool2d" ? randomTensor(r, [L, S]).gt(1) : maskKind === "float3d" ? randomTensor(r, [N * heads, L, S]) : null;
    const isCausal = maskKind.startsWith("causal");
    const forward = (needWeights: boolean) => (...xs: Tensor[]) => {
      const [q, k, v] = cross ? xs : [xs[0], xs[0], xs[0]];
      return m.forward(q, k, v, { needWeights, attnMask, keyPaddingMask: padding, isCausal })[0];
    };
    const inputs = cross ? [query, key, value] : [query];
    const want = run("js", inputs, forward(true), m.parameters());
    const label = `trial ${trial}: E ${E} heads ${heads} N ${N} L ${L} S ${S} kdim ${kdim} batchFirst ${batchFirst} ${maskKind}`;
    assertSame(`${label} (js)`, run("js", inputs, forward(false), m.parameters()), want);
    assertSame(`${label} (wasm)`, run("wasm", inputs, forward(false), m.parameters()), want);
  }
});

test("TransformerEncoderLayer (pre-norm, batchFirst, causal): wasm matches js with the fused attention", () => {
  const r = rng(19);
  const layer = new nn.TransformerEncoderLayer(32, 4, { dimFeedforward: 64, dropout: 0, activation: "gelu", batchFirst: true, normFirst: true });
  const x = randomTensor(r, [3, 33, 32]);
  const fn = (t: Tensor) => layer.forward(t, { isCausal: true });
  assertSame("encoder layer", run("wasm", [x], fn, layer.parameters()), run("js", [x], fn, layer.parameters()));
});
