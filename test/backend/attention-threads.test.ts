// Additive attention and the attention decoder on the wasm kernels give the same bits on one
// thread and on several. The share count follows the threads that are up, which changes while
// workers start, so a sum whose order followed the shares (v's gradient, summed per share at
// first) made training runs differ from one another.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AdditiveAttentionProblem } from "../../src/backend/backend.js";
import type { AttentionDecoderProblem } from "../../src/backend/recurrence.js";
import { additiveAttentionBackwardOn, additiveAttentionOn } from "../../src/backend/wasm/additive-attention.js";
import { attentionDecoderBackwardOn, attentionDecoderForwardOn, attentionDecoderReleaseOn } from "../../src/backend/wasm/attention-decoder.js";
import { rng } from "../helpers.js";
import { wasmRuntimes } from "../wasm-helpers.js";

function values(r: () => number, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

function mask(B: number, S: number): Uint8Array {
  return Uint8Array.from({ length: B * S }, (_, i) => (i % S >= 2 + (Math.floor(i / S) % (S - 2)) ? 1 : 0));
}

// The plain SIMD build on one thread and on three.
const runtimes = wasmRuntimes([1, 3]).slice(0, 2);

test("additive attention: one thread and three give the same bits", () => {
  const r = rng(7);
  const [N, L, S, H, D] = [32, 2, 9, 128, 96]; // large enough to be split across threads
  const p: AdditiveAttentionProblem = { batch: N, queries: L, keys: S, hidden: H, valueSize: D, query: values(r, N * L * H), key: values(r, N * S * H), v: values(r, H), values: values(r, N * S * D), mask: mask(N, S) };
  const grad = values(r, N * L * (D + S));
  const [one, three] = runtimes.map(({ rt }) => {
    const out = additiveAttentionOn(rt, p);
    return { out, grads: additiveAttentionBackwardOn(rt, p, out, grad) };
  });
  assert.deepEqual(one.out, three.out);
  for (const key of ["query", "key", "v", "values"] as const) assert.deepEqual(one.grads[key], three.grads[key], key);
});

test("attention decoder: one thread and three give the same bits", () => {
  const r = rng(8);
  const [T, B, S, H] = [4, 32, 9, 256]; // the translator's attention, split across threads
  const p: AttentionDecoderProblem = {
    steps: T, batch: B, keys: S, hidden: H,
    inputs: values(r, T * B * 3 * H, 0.5), h0: values(r, B * H, 0.5), keyStates: values(r, B * S * H, 0.5), values: values(r, B * S * H, 0.5), mask: mask(B, S),
    // Decreasing, as the translator sorts them, down to rows with no step: later steps run on fewer rows.
    lengths: Int32Array.from({ length: B }, (_, b) => Math.max(0, T - Math.floor(b / 7))),
    weightQuery: values(r, H * H, 0.2), v: values(r, H, 0.3), weightContext: values(r, 3 * H * H, 0.2), weightHh: values(r, 3 * H * H, 0.2), biasIh: values(r, 3 * H, 0.1), biasHh: values(r, 3 * H, 0.1),
  };
  const grad = values(r, (T + 1) * B * H);
  const [one, three] = runtimes.map(({ rt }) => {
    const { output, saved } = attentionDecoderForwardOn(rt, p);
    const grads = attentionDecoderBackwardOn(rt, p, saved, grad);
    attentionDecoderReleaseOn(rt, saved);
    // Copies: a result may be a view of the runtime's memory.
    return { output: Float32Array.from(output), grads: Object.fromEntries(Object.entries(grads).map(([k, v]) => [k, Float32Array.from(v)])) };
  });
  assert.deepEqual(one.output, three.output);
  for (const key of Object.keys(one.grads)) assert.deepEqual(one.grads[key], three.grads[key], key);
});
