import type { AttentionDecoderGrads, AttentionDecoderProblem, AttentionDecoderSaved, RecurrenceSpec } from "../recurrence.js";
import { type AttentionBuffers, type AttentionDims, runAttentionBackward, runAttentionForward } from "./additive-attention.js";
import { gemmOn, type GemmOperand, repeatedGemm } from "./matmul.js";
import { stageArray, unstage } from "./operands.js";
import { activeRowCounts, activeRowsOnly, recurrenceBackwardOn, recurrenceForwardOn, recurrenceReleaseOn } from "./recurrent.js";
import { sumPartialsOn } from "./reduce.js";
import type { WasmRuntime } from "./runtime.js";

// The teacher-forced attention decoder (AttentionDecoderProblem) as one backend call each way:
// the fused GRU time loop of recurrent.ts, with each step's query, attention and context
// projection run inside it on buffers that stay in wasm memory. Per step that replaces a dozen
// recorded ops, each staging its operands and copying its result out; and the weight gradients
// of W_q and W_c become one GEMM over all steps each (as W_hh's already is) instead of one
// 32-row GEMM per step plus the sums.

function spec(p: AttentionDecoderProblem): RecurrenceSpec {
  return { kind: "gru", steps: p.steps, batch: p.batch, hidden: p.hidden, stateSize: p.hidden, reverse: false, leak: 1, lengths: p.lengths, inputSize: 0 };
}

/** The attention's sizes on the first `rows` rows of the batch. */
function attentionDims(p: AttentionDecoderProblem, rows: number): AttentionDims {
  return { batch: rows, queries: 1, keys: p.keys, hidden: p.hidden, valueSize: p.hidden };
}


/** A row-major [rows, cols] matrix at `ptr` (rows `row` apart), as a GEMM operand. */
function matrix(ptr: number, row: number): GemmOperand {
  return { ptr, batch: 0, row, col: 1 };
}

/** The transpose of a row-major matrix at `ptr` with rows `row` apart. */
function transposed(ptr: number, row: number): GemmOperand {
  return { ptr, batch: 0, row: 1, col: row };
}

/** A block of `length` zeros. */
function zeroed(rt: WasmRuntime, length: number): number {
  const ptr = rt.alloc(length * 4);
  rt.f32(ptr, length).fill(0);
  return ptr;
}

/** The attention kernels' operands that do not change from step to step. */
function stageAttention(rt: WasmRuntime, p: AttentionDecoderProblem): AttentionBuffers {
  return { query: 0, key: stageArray(rt, p.keyStates), v: stageArray(rt, p.v), values: stageArray(rt, p.values), mask: stageArray(rt, p.mask), out: 0, outStride: p.hidden + p.keys };
}

export function attentionDecoderForwardOn(rt: WasmRuntime, p: AttentionDecoderProblem): { output: Float32Array; saved: AttentionDecoderSaved } {
  const { steps: T, batch: B, keys: S, hidden: H } = p;
  const GH = 3 * H;
  const width = H + S;
  const active = activeRowCounts(p.lengths, p.steps);
  let x = 0, queries = 0, attention = 0;
  let buffers: AttentionBuffers | null = null;
  // q = h W_q^T and x_t += c W_c^T, with W_q and W_c packed once for all steps.
  let query: ((a: number, c: number, rows: number) => void) | null = null;
  let context: ((a: number, c: number, rows: number) => void) | null = null;
  const { output, saved } = recurrenceForwardOn(rt, spec(p), { x: p.inputs, weightIh: null, weightHh: p.weightHh, weightHr: null, biasIh: p.biasIh, biasHh: p.biasHh, h0: p.h0, c0: null }, true, {
    setup(inputs) {
      x = inputs;
      queries = rt.alloc(T * B * H * 4);
      attention = rt.alloc(T * B * width * 4);
      buffers = stageAttention(rt, p);
      query = repeatedGemm(rt, { a: matrix(0, H), b: transposed(stageArray(rt, p.weightQuery), H), c: matrix(0, H), batch: 1, m: B, n: H, k: H });
      // The context is the first H of each attention row.
      context = repeatedGemm(rt, { a: matrix(0, width), b: transposed(stageArray(rt, p.weightContext), H), c: matrix(0, GH), batch: 1, m: B, n: GH, k: H, accumulate: true });
    },
    beforeStep(t, hIn) {
      const rows = active[t];
      if (rows === 0) return;
      const q = queries + t * B * H * 4;
      const out = attention + t * B * width * 4;
      query!(hIn, q, rows);
      runAttentionForward(rt, attentionDims(p, rows), { ...buffers!, query: q, out });
      context!(out, x + t * B * GH * 4, rows);
    },
  });
  return { output, saved: { recurrence: saved, queries: unstage(rt, queries, T * B * H), attention: unstage(rt, attention, T * B * width) } };
}

export function attentionDecoderBackwardOn(rt: WasmRuntime, p: AttentionDecoderProblem, saved: AttentionDecoderSaved, gradOutput: Float32Array): AttentionDecoderGrads {
  const { steps: T, batch: B, keys: S, hidden: H } = p;
  const GH = 3 * H;
  const width = H + S;
  const active = activeRowCounts(p.lengths, p.steps);
  let dgx = 0, dh = 0, hPrev = 0, queries = 0, attention = 0, grad = 0, dQueries = 0, dKeys = 0, dValues = 0, vPartials = 0;
  // d c_t = d x_t W_c and d h_{t-1} += d q_t W_q, with W_c and W_q packed once for all steps.
  let contextGrad: ((a: number, c: number, rows: number) => void) | null = null;
  let queryGrad: ((a: number, c: number, rows: number) => void) | null = null;
  let buffers: AttentionBuffers | null = null;
  const grads = recurrenceBackwardOn(rt, spec(p), { weightHh: p.weightHh, weightHr: null, weightIh: null }, saved.recurrence, gradOutput, { weights: true, input: true }, {
    setup(b) {
      ({ dgx, dh, hPrev } = b);
      queries = stageArray(rt, saved.queries);
      attention = stageArray(rt, saved.attention);
      buffers = stageAttention(rt, p);
      // d(attention rows): d c from each step's GEMM, d w zero (the weights feed nothing else).
      grad = zeroed(rt, B * width);
      dQueries = rt.alloc(T * B * H * 4);
      // Zeroed, then every step adds into them: a row skipped at the last steps (its target is
      // shorter) gets its first terms at an earlier one.
      dKeys = zeroed(rt, B * S * H);
      dValues = zeroed(rt, B * S * H);
      vPartials = zeroed(rt, B * H);
      contextGrad = repeatedGemm(rt, { a: matrix(0, GH), b: matrix(stageArray(rt, p.weightContext), H), c: matrix(0, width), batch: 1, m: B, n: H, k: GH });
      queryGrad = repeatedGemm(rt, { a: matrix(0, H), b: matrix(stageArray(rt, p.weightQuery), H), c: matrix(0, H), batch: 1, m: B, n: H, k: H, accumulate: true });
    },
    afterStep(t) {
      const rows = active[t];
      if (rows === 0) return;
      const dQuery = dQueries + t * B * H * 4;
      // d c_t = d x_t W_c; the attention's gradients (keys', values' and v's summed over steps); d h_{t-1} += d q_t W_q.
      contextGrad!(dgx + t * B * GH * 4, grad, rows);
      runAttentionBackward(rt, attentionDims(p, rows), { ...buffers!, query: queries + t * B * H * 4, out: attention + t * B * width * 4 }, { grad, dQuery, dKey: dKeys, dValues, vPartials }, true);
      queryGrad!(dQuery, dh, rows);
    },
  });
  // The weight gradients over all steps, one GEMM each: d W_c = d x^T C, d W_q = d Q^T H_prev
  // (without the rows each step skipped, whose gradients are zero). C's rows hold the context
  // then the weights: its first H columns are read.
  const weightGrad = (grad: number, m: number, input: number, inputWidth: number): Float32Array => {
    const kept = activeRowsOnly(rt, active, B, [{ ptr: grad, width: m }, { ptr: input, width: inputWidth }]);
    const out = rt.alloc(m * H * 4);
    gemmOn(rt, { a: transposed(kept.ptrs[0], m), b: matrix(kept.ptrs[1], inputWidth), c: matrix(out, H), batch: 1, m, n: H, k: kept.rows });
    return unstage(rt, out, m * H);
  };
  return {
    inputs: grads.dGatesX,
    h0: grads.dh0,
    keyStates: unstage(rt, dKeys, B * S * H),
    values: unstage(rt, dValues, B * S * H),
    weightQuery: weightGrad(dQueries, H, hPrev, H),
    v: unstage(rt, sumPartialsOn(rt, vPartials, B, H), H),
    weightContext: weightGrad(dgx, GH, attention, width),
    weightHh: grads.dWeightHh!,
    biasIh: grads.dBiasIh,
    biasHh: grads.dBiasHh,
  };
}

export function attentionDecoderReleaseOn(rt: WasmRuntime, saved: AttentionDecoderSaved): void {
  recurrenceReleaseOn(rt, saved.recurrence);
}
