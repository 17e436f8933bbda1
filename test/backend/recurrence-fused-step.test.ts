// The fused recurrence steps of the wasm backend (no projections: one threaded job per time step,
// each share a block of hidden units doing its GEMM columns and its gates) against the JS
// reference, on shapes large enough to split every step across 2 and 3 threads, widths that end
// in a partial GEMM panel, and ragged lengths; and bit for bit against one thread, since the split
// changes no sum's order.
import assert from "node:assert/strict";
import { test } from "node:test";
import { jsBackend } from "../../src/backend/js/index.js";
import type { RecurrentCellKind } from "../../src/backend/recurrence.js";
import { recurrenceBackwardOn, recurrenceForwardOn } from "../../src/backend/wasm/recurrent.js";
import { rng } from "../helpers.js";
import { ALL, NONE, recurrenceCase, type RecurrenceCase } from "../recurrence-cases.js";
import { assertAllClose, wasmRuntimes } from "../wasm-helpers.js";

const KINDS: readonly RecurrentCellKind[] = ["rnn_tanh", "rnn_relu", "gru", "lstm"];
const RUNTIMES = wasmRuntimes([1, 2, 3]);
// As test/backend/recurrent-kernels.test.ts: float32 sums in another order, a polynomial exp.
const ATOL = 2e-5;

/** B rows and H hidden units (H not a multiple of the 8-unit panel unless asked), the rest random. */
function randomCase(seed: number, kind: RecurrentCellKind, batch: number, hidden: number, inputSize = 0): RecurrenceCase {
  const r = rng(seed);
  const T = 2 + Math.floor(r() * 5);
  return recurrenceCase(r, seed, kind, { steps: T, batch, hidden, stateSize: hidden, inputSize }, 0.7);
}

function cases(): RecurrenceCase[] {
  const all: RecurrenceCase[] = [];
  let seed = 2000;
  for (const kind of KINDS) {
    // Enough work per step for 3 threads (src/backend/wasm/matmul.ts: 64K multiply-adds each).
    for (let i = 0; i < 3; i++) {
      const r = rng(seed);
      const hidden = (kind.startsWith("rnn") ? 101 : 57) + Math.floor(r() * 40);
      all.push(randomCase(seed++, kind, 9 + Math.floor(r() * 12), hidden));
    }
    all.push(randomCase(seed++, kind, 5, 3));
  }
  // More shares than the 2 panels of 9 units: the last share has no units.
  all.push(randomCase(seed++, "lstm", 350, 9));
  // The op projecting its input, in GEMMs large enough to split too.
  all.push(randomCase(seed++, "lstm", 17, 61, 37));
  all.push(randomCase(seed++, "gru", 23, 45, 70));
  return all;
}

const CASES = cases();

test("fused recurrence steps match the JS reference, forward (outputs, saved tensors) and backward", () => {
  for (const { label: rtLabel, rt } of RUNTIMES) {
    for (const c of CASES) {
      const label = `${rtLabel}, ${c.label}`;
      const expected = jsBackend.recurrenceForward(c.spec, c.operands, true);
      const actual = recurrenceForwardOn(rt, c.spec, c.operands, true);
      assertAllClose(actual.output, expected.output, ATOL, `${label}: output`);
      for (const key of ["hPrev", "act", "extra", "cPrev"] as const) assertAllClose(actual.saved[key], expected.saved[key], ATOL, `${label}: saved ${key}`);
      // Without saving, the state alternates between two buffers instead: the same numbers.
      assert.deepEqual(recurrenceForwardOn(rt, c.spec, c.operands, false).output, actual.output, `${label}: output without saving`);
      const want = jsBackend.recurrenceBackward(c.spec, c.operands, expected.saved, c.gradOutput, ALL);
      const grads = recurrenceBackwardOn(rt, c.spec, c.operands, expected.saved, c.gradOutput, ALL);
      for (const key of ["dGatesX", "dGatesH", "dh0", "dc0"] as const) assertAllClose(grads[key], want[key], ATOL, `${label}: ${key}`);
      for (const key of ["dBiasHh", "dBiasIh", "dWeightHh"] as const) assertAllClose(grads[key], want[key], 1e-4, `${label}: ${key}`);
      if (c.spec.inputSize > 0) for (const key of ["dInput", "dWeightIh"] as const) assertAllClose(grads[key]!, want[key]!, 1e-4, `${label}: ${key}`);
    }
  }
});

test("fused recurrence steps on 2 and 3 threads equal one thread's bit for bit", () => {
  for (const { label: rtLabel, rt } of RUNTIMES.filter((x) => x.threads > 1)) {
    const oneThread = RUNTIMES.find((x) => x.threads === 1 && x.rt.relaxedSimd === rt.relaxedSimd)!.rt;
    for (const c of CASES) {
      const label = `${rtLabel}, ${c.label}`;
      const serial = recurrenceForwardOn(oneThread, c.spec, c.operands, true);
      const split = recurrenceForwardOn(rt, c.spec, c.operands, true);
      assert.deepEqual(split, serial, `${label}: forward`);
      const wanted = c.spec.inputSize > 0 ? ALL : NONE;
      const serialGrads = recurrenceBackwardOn(oneThread, c.spec, c.operands, serial.saved, c.gradOutput, wanted);
      const splitGrads = recurrenceBackwardOn(rt, c.spec, c.operands, serial.saved, c.gradOutput, wanted);
      assert.deepEqual(splitGrads, serialGrads, `${label}: backward`);
    }
  }
});
