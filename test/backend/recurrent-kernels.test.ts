// The wasm fused recurrence (kernels/recurrent.ts) against the JS reference backend on randomized
// odd shapes: every cell kind, LSTM projections, reverse direction, variable lengths (zero
// included), leaky RNNs, missing bias / c0, forward (outputs and saved tensors) and backward,
// in every build the backend ships (SIMD and relaxed-SIMD FMA, private and shared memory).
import assert from "node:assert/strict";
import { test } from "node:test";
import { jsBackend } from "../../src/backend/js/index.js";
import { gateCount, type RecurrentCellKind } from "../../src/backend/recurrence.js";
import { recurrenceBackwardOn, recurrenceForwardOn, recurrenceReleaseOn, SCOPED_SAVED_BUDGET } from "../../src/backend/wasm/recurrent.js";
import { WasmRuntime, wasmRuntime } from "../../src/backend/wasm/runtime.js";
import * as flint from "../../src/index.js";
import { fusedRecurrence } from "../../src/nn/functional/recurrent.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { rng } from "../helpers.js";
import { ALL, NONE, projectedBeforehand, recurrenceCase, type RecurrenceCase } from "../recurrence-cases.js";
import { wasmRuntimes } from "../wasm-helpers.js";

function assertAllClose(actual: Float32Array, expected: Float32Array, atol: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === e) continue;
    if (!(Math.abs(a - e) <= atol + 1e-4 * Math.abs(e))) assert.fail(`${label}: element ${i} is ${a}, expected ${e}`);
  }
}

const KINDS: readonly RecurrentCellKind[] = ["rnn_tanh", "rnn_relu", "gru", "lstm"];

/** `minGateValues`: at least this many gate values per step (B * G * H), so the gate math splits across threads. */
function randomCase(seed: number, kind: RecurrentCellKind, projecting: boolean, minGateValues = 0): RecurrenceCase {
  const r = rng(seed);
  const T = 1 + Math.floor(r() * 7);
  const B = 1 + Math.floor(r() * 6) + (r() < 0.3 || minGateValues > 0 ? 11 : 0);
  // Odd widths exercise the partial-vector tails; a few cases cross the GEMM's 256-wide K blocks.
  const H = minGateValues > 0 ? Math.ceil(minGateValues / (B * gateCount(kind))) + Math.floor(r() * 9) : r() < 0.25 ? 70 + Math.floor(r() * 30) : 1 + Math.floor(r() * 13);
  const P = projecting ? 1 + Math.floor(r() * (H - 1 || 1)) : H;
  return recurrenceCase(r, seed, kind, { steps: T, batch: B, hidden: H, stateSize: P }, 0.6);
}

function cases(): RecurrenceCase[] {
  const all: RecurrenceCase[] = [];
  let seed = 1;
  for (const kind of KINDS) for (let i = 0; i < 12; i++) all.push(randomCase(seed++, kind, false));
  for (let i = 0; i < 12; i++) all.push(randomCase(seed++, "lstm", true));
  return all;
}

// The per-step GEMMs of the wider cases are split across threads.
const RUNTIMES = wasmRuntimes([1, 3]);

// Float32 sums of up to ~100 products in a different order, and a polynomial exp (rel. error ~1e-7).
const ATOL = 2e-5;

test("wasm recurrence forward matches the JS reference (outputs and saved tensors)", () => {
  for (const { label: rtLabel, rt } of RUNTIMES) {
    for (const c of cases()) {
      const label = `${rtLabel}, ${c.label}`;
      const expected = jsBackend.recurrenceForward(c.spec, c.operands, true);
      const actual = recurrenceForwardOn(rt, c.spec, c.operands, true);
      assertAllClose(actual.output, expected.output, ATOL, `${label}: output`);
      for (const key of ["hPrev", "act", "extra", "cPrev", "hRaw"] as const) assertAllClose(actual.saved[key], expected.saved[key], ATOL, `${label}: saved ${key}`);
      // Inference (nothing saved) computes the same numbers bit for bit.
      const untracked = recurrenceForwardOn(rt, c.spec, c.operands, false);
      assert.deepEqual(untracked.output, actual.output, `${label}: output without saving`);
    }
  }
});

test("wasm recurrence backward matches the JS reference", () => {
  for (const { label: rtLabel, rt } of RUNTIMES) {
    for (const c of cases()) {
      const label = `${rtLabel}, ${c.label}`;
      const { saved } = jsBackend.recurrenceForward(c.spec, c.operands, true);
      const expected = jsBackend.recurrenceBackward(c.spec, c.operands, saved, c.gradOutput, ALL);
      const actual = recurrenceBackwardOn(rt, c.spec, c.operands, saved, c.gradOutput, ALL);
      for (const key of ["dGatesX", "dGatesH", "dBiasHh", "dBiasIh", "dProj", "dh0", "dc0"] as const) assertAllClose(actual[key], expected[key], ATOL, `${label}: ${key}`);
      // The weight gradients, one GEMM over all steps, against float64 sums of their definition.
      const { steps: T, batch: B, hidden: H, stateSize: P } = c.spec;
      const GH = gateCount(c.spec.kind) * H;
      const sumOfProducts = (a: Float32Array, m: number, b: Float32Array, n: number): Float32Array => {
        const out = new Float64Array(m * n);
        for (let row = 0; row < T * B; row++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[i * n + j] += a[row * m + i] * b[row * n + j];
        return Float32Array.from(out);
      };
      assertAllClose(actual.dWeightHh!, sumOfProducts(expected.dGatesH, GH, saved.hPrev, P), 1e-4, `${label}: dWeightHh`);
      assertAllClose(expected.dWeightHh!, sumOfProducts(expected.dGatesH, GH, saved.hPrev, P), 1e-4, `${label}: JS dWeightHh`);
      if (c.operands.weightHr !== null) assertAllClose(actual.dWeightHr!, sumOfProducts(expected.dProj, P, saved.hRaw, H), 1e-4, `${label}: dWeightHr`);
      else assert.equal(actual.dWeightHr, null, `${label}: no dWeightHr without projections`);
      if (c.spec.kind !== "gru") assert.equal(actual.dGatesH, actual.dGatesX, `${label}: dGatesH is dGatesX except for GRU`);
      // The bias gradients sum over steps and rows more precisely than float32 rows would: check them in float64.
      for (const [key, gates] of [["dBiasHh", expected.dGatesH], ["dBiasIh", expected.dGatesX]] as const) {
        const GH = gateCount(c.spec.kind) * c.spec.hidden;
        for (let j = 0; j < GH; j++) {
          let sum = 0;
          for (let row = 0; row < c.spec.steps * c.spec.batch; row++) sum += gates[row * GH + j];
          assert.ok(Math.abs(actual[key][j] - sum) <= 1e-4, `${label}: ${key}[${j}] is ${actual[key][j]}, expected ${sum}`);
        }
      }
    }
  }
});

test("the gate math split by rows across threads (large steps) matches the JS reference, forward and backward", () => {
  // 3 * 4096 values: enough for every thread of the 3-thread runtimes (src/backend/wasm/recurrent.ts).
  const wide: RecurrenceCase[] = [];
  let seed = 500;
  for (const kind of KINDS) for (let i = 0; i < 2; i++) wide.push(randomCase(seed++, kind, false, 3 * 4096));
  wide.push(randomCase(seed++, "lstm", true, 3 * 4096));
  for (const { label: rtLabel, rt } of RUNTIMES.filter((x) => x.rt.threads > 1)) {
    for (const c of wide) {
      const label = `${rtLabel}, ${c.label}`;
      const expected = jsBackend.recurrenceForward(c.spec, c.operands, true);
      const actual = recurrenceForwardOn(rt, c.spec, c.operands, true);
      assertAllClose(actual.output, expected.output, ATOL, `${label}: output`);
      for (const key of ["hPrev", "act", "extra", "cPrev", "hRaw"] as const) assertAllClose(actual.saved[key], expected.saved[key], ATOL, `${label}: saved ${key}`);
      const grads = recurrenceBackwardOn(rt, c.spec, c.operands, expected.saved, c.gradOutput, ALL);
      const want = jsBackend.recurrenceBackward(c.spec, c.operands, expected.saved, c.gradOutput, ALL);
      for (const key of ["dGatesX", "dGatesH", "dProj", "dh0", "dc0", "dWeightHh"] as const) assertAllClose(grads[key]!, want[key]!, ATOL * 10, `${label}: ${key}`);
      // Without weight gradients asked for, none are computed.
      assert.equal(recurrenceBackwardOn(rt, c.spec, c.operands, expected.saved, c.gradOutput, NONE).dWeightHh, null, `${label}: dWeightHh not asked for`);
      // The bias sums: float32 in the same order of steps and rows as the unsplit kernel.
      const oneThread = RUNTIMES.find((x) => x.rt.threads === 1 && x.rt.relaxedSimd === rt.relaxedSimd)!.rt;
      const serial = recurrenceBackwardOn(oneThread, c.spec, c.operands, expected.saved, c.gradOutput, NONE);
      assert.deepEqual(grads.dBiasHh, serial.dBiasHh, `${label}: dBiasHh as on one thread`);
      assert.deepEqual(grads.dBiasIh, serial.dBiasIh, `${label}: dBiasIh as on one thread`);
    }
  }
});

test("wasm recurrence: stale arena memory from a bigger call does not leak into a smaller one", () => {
  const rt = RUNTIMES[0].rt;
  const big = randomCase(1000, "lstm", false);
  const small = randomCase(1001, "gru", false);
  const first = recurrenceForwardOn(rt, small.spec, small.operands, true);
  recurrenceForwardOn(rt, big.spec, big.operands, true);
  const again = recurrenceForwardOn(rt, small.spec, small.operands, true);
  assert.deepEqual(again.output, first.output);
  assert.deepEqual(again.saved, first.saved);
});

test("fusedRecurrence: b_ih passed to the op equals b_ih added to the input projection, values and gradients", () => {
  for (const kind of KINDS) {
    flint.manualSeed(11);
    const [T, B, H] = [4, 3, 5];
    const GH = gateCount(kind) * H;
    const xProj = flint.randn([T, B, GH]).requiresGrad_();
    const biasIh = flint.randn([GH]).mul(0.3).requiresGrad_();
    const weightHh = flint.randn([GH, H]).mul(0.4).requiresGrad_();
    const biasHh = flint.randn([GH]).mul(0.3).requiresGrad_();
    const h0 = flint.randn([B, H]).requiresGrad_();
    const weights = flint.randn([T + (kind === "lstm" ? 2 : 1), B, H]);
    const run = (fused: boolean): Tensor[] => {
      for (const t of [xProj, biasIh, weightHh, biasHh, h0]) t.grad = null;
      const out = fused
        ? fusedRecurrence(kind, xProj, weightHh, biasHh, h0, { biasIh, lengths: [4, 2, 0] })
        : fusedRecurrence(kind, xProj.add(biasIh), weightHh, biasHh, h0, { lengths: [4, 2, 0] });
      out.mul(weights).sum().backward();
      return [out, xProj.grad!, biasIh.grad!, weightHh.grad!, biasHh.grad!, h0.grad!];
    };
    const expected = run(false);
    const actual = run(true);
    actual.forEach((t, i) => assertAllClose(t.data() as Float32Array, expected[i].data() as Float32Array, 1e-5, `${kind}: tensor ${i}`));
  }
});

/** a [rows, m] @ b [m, n] (transposeA: a [m', rows] read as its transpose) in float64. */
function product64(a: Float32Array, b: Float32Array, m: number, k: number, n: number, transposeA: boolean): Float32Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let q = 0; q < k; q++) {
    const av = transposeA ? a[q * m + i] : a[i * k + q];
    for (let j = 0; j < n; j++) out[i * n + j] += av * b[q * n + j];
  }
  return Float32Array.from(out);
}

test("the recurrence projecting its own input (weightIh) matches the input projected beforehand, on both backends, forward and backward", () => {
  const projecting: RecurrenceCase[] = [];
  let seed = 700;
  for (const kind of KINDS) {
    for (let i = 0; i < 3; i++) {
      const r = rng(seed);
      const H = 1 + Math.floor(r() * 20);
      projecting.push(recurrenceCase(r, seed++, kind, { steps: 1 + Math.floor(r() * 6), batch: 1 + Math.floor(r() * 9), hidden: H, stateSize: H, inputSize: 1 + Math.floor(r() * 30) }, 0.5));
    }
  }
  const r = rng(seed);
  projecting.push(recurrenceCase(r, seed, "lstm", { steps: 5, batch: 4, hidden: 11, stateSize: 6, inputSize: 9 }, 0.5));
  const backends = [{ label: "js", forward: jsBackend.recurrenceForward, backward: jsBackend.recurrenceBackward }, ...RUNTIMES.map(({ label, rt }) => ({ label, forward: recurrenceForwardOn.bind(null, rt), backward: recurrenceBackwardOn.bind(null, rt) }))];
  for (const c of projecting) {
    const { steps: T, batch: B, hidden: H, inputSize: I } = c.spec;
    const GH = gateCount(c.spec.kind) * H;
    const reference = projectedBeforehand(c);
    const referenceForward = jsBackend.recurrenceForward(reference.spec, reference.operands, true);
    const referenceGrads = jsBackend.recurrenceBackward(reference.spec, reference.operands, referenceForward.saved, c.gradOutput, ALL);
    const dInput = product64(referenceGrads.dGatesX, c.operands.weightIh!, T * B, GH, I, false);
    const dWeightIh = product64(referenceGrads.dGatesX, c.operands.x, GH, T * B, I, true);
    for (const { label: backendLabel, forward, backward } of backends) {
      const label = `${backendLabel}, ${c.label}`;
      const actual = forward(c.spec, c.operands, true);
      assertAllClose(actual.output, referenceForward.output, ATOL, `${label}: output`);
      for (const key of ["hPrev", "act", "extra", "cPrev", "hRaw"] as const) assertAllClose(actual.saved[key], referenceForward.saved[key], ATOL, `${label}: saved ${key}`);
      assert.equal(actual.saved.input, c.operands.x, `${label}: the input is saved by reference`);
      const grads = backward(c.spec, c.operands, actual.saved, c.gradOutput, ALL);
      assertAllClose(grads.dInput!, dInput, 1e-4, `${label}: dInput`);
      assertAllClose(grads.dWeightIh!, dWeightIh, 1e-4, `${label}: dWeightIh`);
      for (const key of ["dBiasHh", "dBiasIh", "dh0", "dc0", "dWeightHh", "dWeightHr"] as const) assertAllClose(grads[key] ?? new Float32Array(0), referenceGrads[key] ?? new Float32Array(0), 1e-4, `${label}: ${key}`);
      assert.equal(grads.dGatesX.length, 0, `${label}: the gate gradients stay inside`);
      const none = backward(c.spec, c.operands, actual.saved, c.gradOutput, NONE);
      assert.equal(none.dInput, null, `${label}: dInput not asked for`);
      assert.equal(none.dWeightIh, null, `${label}: dWeightIh not asked for`);
    }
  }
});

test("fusedRecurrence with weightIh equals linear(x, W_ih) then fusedRecurrence, values and gradients", () => {
  for (const kind of KINDS) {
    flint.manualSeed(12);
    const [T, B, H, I] = [5, 3, 6, 4];
    const GH = gateCount(kind) * H;
    // A transposed (batch-first) input, as nn.LSTM passes it.
    const input = flint.randn([B, T, I]).requiresGrad_();
    const weightIh = flint.randn([GH, I]).mul(0.4).requiresGrad_();
    const biasIh = flint.randn([GH]).mul(0.3).requiresGrad_();
    const weightHh = flint.randn([GH, H]).mul(0.4).requiresGrad_();
    const h0 = flint.randn([B, H]).requiresGrad_();
    const weights = flint.randn([T + (kind === "lstm" ? 2 : 1), B, H]);
    const run = (inside: boolean): Tensor[] => {
      for (const t of [input, weightIh, biasIh, weightHh, h0]) t.grad = null;
      const x = input.transpose(0, 1);
      const out = inside
        ? fusedRecurrence(kind, x, weightHh, null, h0, { weightIh, biasIh, lengths: [5, 1, 3] })
        : fusedRecurrence(kind, flint.nn.functional.linear(x, weightIh), weightHh, null, h0, { biasIh, lengths: [5, 1, 3] });
      out.mul(weights).sum().backward();
      return [out, input.grad!, weightIh.grad!, biasIh.grad!, weightHh.grad!, h0.grad!];
    };
    const expected = run(false);
    const actual = run(true);
    actual.forEach((t, i) => assertAllClose(t.data() as Float32Array, expected[i].data() as Float32Array, 1e-5, `${kind}: tensor ${i}`));
  }
  assert.throws(() => fusedRecurrence("gru", flint.zeros([2, 1, 5]), flint.zeros([6, 2]), null, flint.zeros([1, 2]), { weightIh: flint.zeros([6, 4]) }), /fusedRecurrence: input of shape \[2, 1, 5\] is not \[T, B, 4\]/);
  assert.throws(() => fusedRecurrence("gru", flint.zeros([2, 1, 4]), flint.zeros([6, 2]), null, flint.zeros([1, 2]), { weightIh: flint.zeros([5, 4]) }), /weight_ih of shape \[5, 4\] is not \[6, input size\]/);
});

test("wasm recurrence: saved tensors stay in wasm memory until the backward releases them; past the budget they are copied out", () => {
  const rt = new WasmRuntime({ threads: 2 });
  if (!rt.shared) return; // private memory keeps nothing in place
  const c = randomCase(1200, "lstm", false);
  const expected = jsBackend.recurrenceForward(c.spec, c.operands, true);
  const want = jsBackend.recurrenceBackward(c.spec, c.operands, expected.saved, c.gradOutput, ALL);
  const kept = recurrenceForwardOn(rt, c.spec, c.operands, true);
  assert.ok(rt.residentPointer(kept.saved.act) >= 0 && rt.scopedBytes > 0, "saved in place");
  // The arena of another call does not disturb them.
  recurrenceForwardOn(rt, c.spec, c.operands, false);
  for (const key of ["hPrev", "act", "extra", "cPrev"] as const) assertAllClose(kept.saved[key], expected.saved[key], ATOL, `saved ${key}`);
  const grads = recurrenceBackwardOn(rt, c.spec, c.operands, kept.saved, c.gradOutput, ALL);
  for (const key of ["dGatesX", "dh0", "dc0", "dWeightHh"] as const) assertAllClose(grads[key]!, want[key]!, 1e-4, key);
  recurrenceReleaseOn(rt, kept.saved);
  assert.equal(rt.scopedBytes, 0, "released");
  // With the budget spent the forward copies its saved tensors out, and the backward stages them.
  const hog = rt.allocateScoped(SCOPED_SAVED_BUDGET / 4 - 64, SCOPED_SAVED_BUDGET)!;
  const copied = recurrenceForwardOn(rt, c.spec, c.operands, true);
  assert.equal(rt.residentPointer(copied.saved.act), -1, "copied out");
  const fromCopies = recurrenceBackwardOn(rt, c.spec, c.operands, copied.saved, c.gradOutput, ALL);
  assert.deepEqual(fromCopies, grads);
  rt.releaseScoped(hog);
});

test("fusedRecurrence on the wasm backend frees its saved tensors after backward (kept with retainGraph)", () => {
  const rt = wasmRuntime();
  const previous = flint.getBackend();
  flint.setBackend("wasm");
  try {
    flint.manualSeed(5);
    const lstm = new flint.nn.LSTM(6, 9, { numLayers: 2 });
    const x = flint.randn([7, 3, 6]);
    const start = rt.scopedBytes;
    const weightHh = lstm.namedParameters().find(([name]) => name === "weight_hh_l0")![1];
    const loss = lstm.forward(x)[0].square().sum();
    if (rt.shared) assert.ok(rt.scopedBytes > start, "the forward kept its saved tensors in wasm memory");
    loss.backward(undefined, { retainGraph: true });
    const first = weightHh.grad!.clone();
    if (rt.shared) assert.ok(rt.scopedBytes > start, "a retained graph keeps them");
    lstm.zeroGrad();
    loss.backward();
    assert.deepEqual(weightHh.grad!.data(), first.data(), "the second backward reads the same saved tensors");
    assert.equal(rt.scopedBytes, start, "released after the last backward");
  } finally {
    flint.setBackend(previous);
  }
});
